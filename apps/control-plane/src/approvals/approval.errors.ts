import { ConflictError, ForbiddenError } from '../errors/domain.error';

/** Why an approver may not act on a request (403); the public code says which rule refused. */
export class ApproverRefusedError extends ForbiddenError {
  constructor(
    readonly reason: 'self_approval' | 'not_an_approver',
    message: string,
  ) {
    super(message);
  }
  override get publicCode(): string {
    return this.reason;
  }
}

/** The request is past acting on (409): expired, already resolved, or already approved by this approver. */
export class ApprovalStateConflictError extends ConflictError {
  constructor(
    readonly reason: 'approval_expired' | 'approval_not_pending' | 'already_approved',
    message: string,
  ) {
    super(message);
  }
  override get publicCode(): string {
    return this.reason;
  }
}
