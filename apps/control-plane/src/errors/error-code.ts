/**
 * Stable error codes of the control-plane API. Clients branch on them, so a value never changes
 * meaning; add new ones instead. Each maps to exactly one HTTP status in `http-error.mapper.ts`.
 */
export enum ErrorCode {
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  InvalidRequest = 'invalid_request',
  PayloadTooLarge = 'payload_too_large',
  NotFound = 'not_found',
  Conflict = 'conflict',
  BundleRejected = 'bundle_rejected',
  Unavailable = 'unavailable',
}
