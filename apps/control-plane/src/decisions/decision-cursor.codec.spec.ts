import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DecisionCursorCodec } from './decision-cursor.codec';
import { DecisionQueryError } from './decision.errors';

const ID = '0b7a3c1e-6a43-4c5e-9f1d-2b8e4f6a9c10';

describe('DecisionCursorCodec', () => {
  it('a cursor decodes to exactly the keyset it was made from', () => {
    const cursor = { timestampUs: 1_735_689_600_123_456, decisionId: ID };
    assert.deepEqual(DecisionCursorCodec.decode(DecisionCursorCodec.encode(cursor)), cursor);
  });

  it('a cursor is URL-safe, so it can be pasted into a query string unescaped', () => {
    const encoded = DecisionCursorCodec.encode({
      timestampUs: 2 ** 52,
      decisionId: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    });
    assert.match(encoded, /^[A-Za-z0-9_-]+$/);
  });

  const rejected: [string, string][] = [
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['wrong version', Buffer.from(JSON.stringify(['v0', 1, ID])).toString('base64url')],
    ['fractional timestamp', Buffer.from(JSON.stringify(['v1', 1.5, ID])).toString('base64url')],
    ['timestamp as string', Buffer.from(JSON.stringify(['v1', '1', ID])).toString('base64url')],
    [
      'id that is not a decision id',
      Buffer.from(JSON.stringify(['v1', 1, "' OR 1=1 --"])).toString('base64url'),
    ],
    ['extra element', Buffer.from(JSON.stringify(['v1', 1, ID, 0])).toString('base64url')],
    [
      'object instead of array',
      Buffer.from(JSON.stringify({ t: 1, id: ID })).toString('base64url'),
    ],
    ['overlong input', 'A'.repeat(201)],
  ];
  for (const [what, value] of rejected) {
    it(`a tampered or foreign cursor (${what}) is rejected as an invalid cursor parameter`, () => {
      assert.throws(
        () => DecisionCursorCodec.decode(value),
        (err: unknown) => err instanceof DecisionQueryError && err.parameter === 'cursor',
      );
    });
  }

  it('the rejection message never echoes the cursor content', () => {
    const secretish = Buffer.from(JSON.stringify(['v1', 1, 'not-an-id-but-a-secret'])).toString(
      'base64url',
    );
    assert.throws(
      () => DecisionCursorCodec.decode(secretish),
      (err: unknown) =>
        err instanceof Error && !err.message.includes(secretish) && !err.message.includes('secret'),
    );
  });
});
