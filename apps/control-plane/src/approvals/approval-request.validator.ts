import {
  APPROVAL_STATUSES,
  isApprovalId,
  isObject,
  type ApprovalStatus,
} from '@portcullis/contracts';
import { InvalidRequestError } from '../errors/domain.error';
import { approvalCursorCodec } from './approval-cursor.codec';
import type { ApprovalListCursor } from './approval.repository';

/** A validated `GET /v1/approvals` query. */
export interface ApprovalListInput {
  status?: ApprovalStatus;
  cursor?: ApprovalListCursor;
  limit: number;
}

/** Longest comment kept; comments are free text for the audit trail, not documents. */
export const MAX_COMMENT_CHARS = 2000;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const LIST_PARAMS = new Set(['status', 'cursor', 'limit']);

/** Checks approval REST input as parsed; throws InvalidRequestError (400) naming the field. */
export class ApprovalRequestValidator {
  static id(value: unknown): string {
    if (typeof value !== 'string' || !isApprovalId(value))
      throw new InvalidRequestError('approval id must be a lower-case UUID');
    return value;
  }

  static list(raw: Record<string, unknown>): ApprovalListInput {
    for (const [key, value] of Object.entries(raw)) {
      if (!LIST_PARAMS.has(key)) throw new InvalidRequestError(`unknown query parameter ${key}`);
      if (typeof value !== 'string')
        throw new InvalidRequestError(`query parameter ${key} must be given once`);
    }
    const out: ApprovalListInput = { limit: DEFAULT_LIMIT };
    const { status, cursor, limit } = raw as Record<string, string | undefined>;
    if (status !== undefined) {
      if (!(APPROVAL_STATUSES as readonly string[]).includes(status))
        throw new InvalidRequestError(`status must be one of ${APPROVAL_STATUSES.join(', ')}`);
      out.status = status as ApprovalStatus;
    }
    if (cursor !== undefined) out.cursor = approvalCursorCodec.decode(cursor);
    if (limit !== undefined) {
      if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT)
        throw new InvalidRequestError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
      out.limit = Number(limit);
    }
    return out;
  }

  /** `{comment}`: required (non-blank) to deny, optional to approve; at most 2000 characters. */
  static comment(body: unknown, required: boolean): string | null {
    if (body === undefined || body === null) {
      if (required) throw new InvalidRequestError('comment is required to deny');
      return null;
    }
    if (!isObject(body)) throw new InvalidRequestError('body must be a JSON object');
    for (const key of Object.keys(body))
      if (key !== 'comment') throw new InvalidRequestError(`${key} is not a known field`);
    const comment = body.comment;
    if (comment === undefined || comment === null) {
      if (required) throw new InvalidRequestError('comment is required to deny');
      return null;
    }
    if (typeof comment !== 'string') throw new InvalidRequestError('comment must be a string');
    if (comment.length > MAX_COMMENT_CHARS)
      throw new InvalidRequestError(`comment must be at most ${MAX_COMMENT_CHARS} characters`);
    if (required && comment.trim().length === 0)
      throw new InvalidRequestError('comment is required to deny');
    return comment.length === 0 ? null : comment;
  }
}
