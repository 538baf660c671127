import { createHmac } from 'node:crypto';
import { isAsciiAlnum, type DetectorName } from './detectors';

export const MASK_STRATEGIES = ['redact', 'partial', 'hash'] as const;
export type MaskStrategy = (typeof MASK_STRATEGIES)[number];

/** Below this many letters and digits `partial` keeps nothing: four would be more than half the value. */
const PARTIAL_MIN_TO_KEEP = 8;
const PARTIAL_KEEP = 4;
const HASH_HEX_CHARS = 32;

const LETTER_OR_DIGIT = /^[\p{L}\p{N}\p{M}]$/u;

function isLetterOrDigit(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return c < 0x80 ? isAsciiAlnum(c) : LETTER_OR_DIGIT.test(ch);
}

/**
 * Keeps the last four letters/digits and stars the others, leaving separators in place
 * (`****-****-****-1111`). Values with fewer than eight letters/digits are starred entirely.
 * Works on code points so a non-ASCII letter is starred like any other.
 */
export function partialMask(value: string): string {
  const chars = Array.from(value);
  let total = 0;
  for (const ch of chars) if (isLetterOrDigit(ch)) total++;
  let keep = total >= PARTIAL_MIN_TO_KEEP ? PARTIAL_KEEP : 0;
  for (let k = chars.length - 1; k >= 0; k--) {
    const ch = chars[k];
    if (!isLetterOrDigit(ch)) continue;
    if (keep > 0) keep--;
    else chars[k] = '*';
  }
  return chars.join('');
}

/** `jane.doe@example.com` → `j***@example.com`: the local part's length is not revealed. */
export function partialEmail(value: string): string {
  const atSign = value.lastIndexOf('@');
  // A one-character local part would be shown whole: keep none of it then.
  const first = atSign > 1 ? value.slice(0, 1) : '';
  return `${first}***${value.slice(atSign)}`;
}

/**
 * The form a detected value is hashed in, so that every spelling of one value hashes alike:
 * separators dropped for numbers, IBANs upper-cased, e-mail addresses lower-cased.
 */
export function canonicalDetected(detector: DetectorName, value: string): string {
  switch (detector) {
    case 'credit_card':
    case 'ssn':
      return value.replace(/[^0-9]/g, '');
    case 'phone': {
      // A North-American form without country code is the same number as its +1 spelling.
      const digits = value.replace(/[^0-9]/g, '');
      return !value.startsWith('+') && digits.length === 10 ? `1${digits}` : digits;
    }
    case 'iban':
      return value.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
    case 'email':
      return value.toLowerCase();
    case 'secret':
      return value;
  }
}

/** Keyed hash (HMAC-SHA256) truncated to 128 bits: stable per key, useless without it. */
export function keyedHash(key: Buffer, canonical: string): string {
  return createHmac('sha256', key).update(canonical, 'utf8').digest('hex').slice(0, HASH_HEX_CHARS);
}
