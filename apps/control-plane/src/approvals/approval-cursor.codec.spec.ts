import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError } from '../errors/domain.error';
import { decisionCursorCodec } from '../decisions/decision-cursor.codec';
import { DecisionQueryError } from '../decisions/decision.errors';
import { approvalCursorCodec } from './approval-cursor.codec';

const ID = '3f2b8c4e-5d6a-4b7c-8e9f-0a1b2c3d4e5f';
/** Captured from the previous ApprovalCursorCodec for `{ createdAtMs: 1764390000123, id: ID }`. */
const ISSUED_BEFORE =
  'WyJhMSIsMTc2NDM5MDAwMDEyMywiM2YyYjhjNGUtNWQ2YS00YjdjLThlOWYtMGExYjJjM2Q0ZTVmIl0';

describe('approvalCursorCodec', () => {
  it('a cursor issued before the shared keyset codec still decodes, and is issued the same', () => {
    const position = approvalCursorCodec.decode(ISSUED_BEFORE);
    assert.deepEqual(position, { createdAtMs: 1_764_390_000_123, id: ID });
    assert.equal(approvalCursorCodec.encode(position), ISSUED_BEFORE);
  });

  it('only lower-case approval ids pass, and a decisions cursor is refused, as a plain 400 naming cursor', () => {
    const refused = [
      approvalCursorCodec.encode({ createdAtMs: 1, id: ID.toUpperCase() }),
      approvalCursorCodec.encode({ createdAtMs: 1, id: 'not-an-approval-id' }),
      decisionCursorCodec.encode({ timestampUs: 1, decisionId: ID }),
    ];
    for (const value of refused)
      assert.throws(
        () => approvalCursorCodec.decode(value),
        (err: unknown) =>
          err instanceof InvalidRequestError &&
          !(err instanceof DecisionQueryError) &&
          err.message.startsWith('cursor '),
        value,
      );
  });
});
