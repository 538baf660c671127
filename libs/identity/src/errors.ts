export const AUTHENTICATION_ERROR_CODES = [
  'token_missing',
  'token_malformed',
  'token_too_long',
  'token_expired',
  'token_not_yet_valid',
  'signature_invalid',
  'algorithm_not_allowed',
  'issuer_mismatch',
  'audience_mismatch',
  'claim_missing',
  'key_not_found',
  'jwks_unavailable',
] as const;
export type AuthenticationErrorCode = (typeof AUTHENTICATION_ERROR_CODES)[number];

/**
 * Why a token was refused. `message` is safe to show the caller: it never echoes the token or
 * key material, only what the caller needs to fix (expired, wrong audience …).
 */
export class AuthenticationError extends Error {
  constructor(
    readonly code: AuthenticationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuthenticationError';
  }
}
