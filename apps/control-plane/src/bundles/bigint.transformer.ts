import type { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL returns bigint as a string (it may exceed 2^53); what we store in bigint columns
 * (epoch milliseconds or microseconds, byte counts of one call) always fits a JS number.
 */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
