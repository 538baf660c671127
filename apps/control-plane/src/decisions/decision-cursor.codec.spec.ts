import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { approvalCursorCodec } from '../approvals/approval-cursor.codec';
import { decisionCursorCodec } from './decision-cursor.codec';
import { DecisionQueryError } from './decision.errors';

const ID = '0b7a3c1e-6a43-4c5e-9f1d-2b8e4f6a9c10';
const raw = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const isCursorError = (err: unknown): boolean =>
  err instanceof DecisionQueryError && err.parameter === 'cursor';

describe('decisionCursorCodec', () => {
  it('a cursor issued before the shared keyset codec still decodes, and is issued the same', () => {
    // Captured from the previous DecisionCursorCodec for exactly this keyset.
    const issued =
      'WyJ2MSIsMTczNTY4OTYwMDEyMzQ1NiwiMGI3YTNjMWUtNmE0My00YzVlLTlmMWQtMmI4ZTRmNmE5YzEwIl0';
    const cursor = { timestampUs: 1_735_689_600_123_456, decisionId: ID };
    assert.deepEqual(decisionCursorCodec.decode(issued), cursor);
    assert.equal(decisionCursorCodec.encode(cursor), issued);
  });

  it('a tampered or foreign cursor is rejected as an invalid cursor parameter', () => {
    for (const value of [
      'abc+/=',
      raw(['v0', 1, ID]),
      raw(['v1', 1, "' OR 1=1 --"]),
      approvalCursorCodec.encode({ createdAtMs: 1, id: ID }),
    ])
      assert.throws(() => decisionCursorCodec.decode(value), isCursorError, value);
  });
});
