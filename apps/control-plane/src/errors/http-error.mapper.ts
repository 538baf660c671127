import { ErrorCode } from './error-code';
import { BundleRejectedError, type DomainError } from './domain.error';

/** What goes on the wire for an error: status, body and extra headers. */
export interface HttpErrorResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** The one mapping from domain error codes to HTTP. Exhaustive: a new code fails to compile here. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.Unauthenticated:
      return 401;
    case ErrorCode.Forbidden:
      return 403;
    case ErrorCode.InvalidRequest:
      return 400;
    case ErrorCode.NotFound:
      return 404;
    case ErrorCode.Conflict:
      return 409;
    case ErrorCode.PayloadTooLarge:
      return 413;
    case ErrorCode.BundleRejected:
      return 422;
    case ErrorCode.Unavailable:
      return 503;
  }
}

export function toHttpError(err: DomainError): HttpErrorResponse {
  const status = httpStatusOf(err.code);
  const headers: Record<string, string> = {};
  if (err.code === ErrorCode.Unauthenticated) headers['www-authenticate'] = 'Bearer';
  if (err instanceof BundleRejectedError) {
    // The bundle contract: every problem OPA reported, not just the first.
    return { status, headers, body: { errors: err.problems } };
  }
  return { status, headers, body: { error: { code: err.publicCode, message: err.message } } };
}
