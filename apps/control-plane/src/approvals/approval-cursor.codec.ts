import { isApprovalId } from '@portcullis/contracts';
import { KeysetCursorCodec } from '../pagination/keyset-cursor.codec';
import type { ApprovalListCursor } from './approval.repository';

/**
 * `GET /v1/approvals` page positions, keyset on (created_at, id): stable while new requests
 * arrive. A refused cursor is a 400 naming `cursor`. Issued cursors carry the tag `a1`.
 */
export const approvalCursorCodec = new KeysetCursorCodec<ApprovalListCursor>({
  version: 'a1',
  isId: isApprovalId,
  toKeyset: (cursor) => [cursor.createdAtMs, cursor.id],
  fromKeyset: (createdAtMs, id) => ({ createdAtMs, id }),
});
