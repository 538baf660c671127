/** Stable codes for why masking could not be done; the enforcer maps every one to `masking_failed`. */
export const MASKING_ERROR_CODES = [
  'invalid_key', // the HMAC key for the hash strategy is missing or shorter than 32 bytes
  'not_json', // the value is not a JSON tree (it contains a cycle)
  'invalid_spec', // a MaskSpec built by hand names a strategy this library does not know
] as const;
export type MaskingErrorCode = (typeof MASKING_ERROR_CODES)[number];

/**
 * Masking could not be done with certainty, so the caller must fail closed. `message` never
 * contains any part of the value being masked.
 */
export class MaskingError extends Error {
  override readonly name = 'MaskingError';

  constructor(
    readonly code: MaskingErrorCode,
    message: string,
  ) {
    super(message);
  }
}
