import type { AuthenticationErrorCode } from '@portcullis/identity';
import { ErrorCode } from './error-code';

/**
 * An expected failure with a stable {@link ErrorCode}. `message` is shown to the caller as is, so
 * it must never carry secrets, tokens, file-system paths or stack traces.
 */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;

  /** The `error.code` the caller sees; a subclass may be more specific than {@link code}. */
  get publicCode(): string {
    return this.code;
  }
}

/**
 * No token, or a token that failed verification (401); the public code is the token problem, so
 * callers can act on it.
 */
export class UnauthenticatedError extends DomainError {
  readonly code = ErrorCode.Unauthenticated;
  constructor(
    /** Why the token was refused, as the enforcer reports it too (`token_expired` …). */
    readonly reason: AuthenticationErrorCode,
    message: string,
  ) {
    super(message);
  }
  override get publicCode(): string {
    return this.reason;
  }
}

/** A verified caller whose roles do not allow the route (403). */
export class ForbiddenError extends DomainError {
  readonly code = ErrorCode.Forbidden;
}

/** A parameter or body the control plane refuses (400); the message names what is wrong. */
export class InvalidRequestError extends DomainError {
  readonly code = ErrorCode.InvalidRequest;
}

/** A request body beyond the configured limits (413). */
export class PayloadTooLargeError extends DomainError {
  readonly code = ErrorCode.PayloadTooLarge;
}

/** The named bundle, version or decision is not stored (404). */
export class NotFoundError extends DomainError {
  readonly code = ErrorCode.NotFound;
}

/** A request that lost a race with a concurrent change (409); repeating it is safe. */
export class ConflictError extends DomainError {
  readonly code = ErrorCode.Conflict;
}

/** Something the control plane depends on (NATS, the database, opa) cannot serve the request now. */
export class UnavailableError extends DomainError {
  readonly code = ErrorCode.Unavailable;
}

/** One problem OPA found in an uploaded bundle, located in the file as the author named it. */
export interface BundleProblem {
  /** OPA's code (`rego_parse_error`, `rego_type_error`, `opa_test_failed` …). */
  code: string;
  file: string | null;
  row: number | null;
  col: number | null;
  message: string;
}

/** The bundle did not pass `opa check`, `opa test` or `opa build`; answered with 422 and every problem. */
export class BundleRejectedError extends DomainError {
  readonly code = ErrorCode.BundleRejected;
  constructor(
    readonly problems: BundleProblem[],
    readonly stage: 'check' | 'test' | 'build',
  ) {
    super(`bundle rejected by opa ${stage}: ${problems.length} problem(s)`);
  }
}
