import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError } from '../errors/domain.error';
import { KeysetCursorCodec, type KeysetCursorFormat } from './keyset-cursor.codec';

interface Position {
  at: number;
  name: string;
}

const FORMAT: KeysetCursorFormat<Position> = {
  version: 't1',
  isId: (id) => /^[a-z]{1,20}$/.test(id),
  toKeyset: (p) => [p.at, p.name],
  fromKeyset: (at, name) => ({ at, name }),
};
const codec = new KeysetCursorCodec(FORMAT);
const raw = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('KeysetCursorCodec', () => {
  it('a cursor decodes to exactly the position it was made from', () => {
    const position = { at: 1_735_689_600_123_456, name: 'alpha' };
    assert.deepEqual(codec.decode(codec.encode(position)), position);
  });

  it('a cursor is base64url of [version, key, id], so issued cursors keep decoding', () => {
    assert.equal(codec.encode({ at: 7, name: 'alpha' }), raw(['t1', 7, 'alpha']));
  });

  it('a cursor is URL-safe, so it can be pasted into a query string unescaped', () => {
    assert.match(codec.encode({ at: 2 ** 52, name: 'zzzzzzzzzzzzzzzzzzzz' }), /^[A-Za-z0-9_-]+$/);
  });

  const rejected: [string, string][] = [
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['wrong version', raw(['t0', 1, 'alpha'])],
    ['fractional key', raw(['t1', 1.5, 'alpha'])],
    ['unsafe integer key', raw(['t1', 2 ** 53, 'alpha'])],
    ['key as string', raw(['t1', '1', 'alpha'])],
    ['id the format does not issue', raw(['t1', 1, "' OR 1=1 --"])],
    ['id that is not a string', raw(['t1', 1, 5])],
    ['missing element', raw(['t1', 1])],
    ['extra element', raw(['t1', 1, 'alpha', 0])],
    ['object instead of array', raw({ t: 1, id: 'alpha' })],
    ['overlong input', 'A'.repeat(201)],
  ];
  for (const [what, value] of rejected) {
    it(`a tampered or foreign cursor (${what}) is refused as a 400 naming cursor`, () => {
      assert.throws(
        () => codec.decode(value),
        (err: unknown) =>
          err instanceof InvalidRequestError &&
          err.message ===
            'cursor is not a valid cursor (use next_cursor from a previous page unchanged)',
      );
    });
  }

  it("another list's cursor is refused: the version tag tells lists apart", () => {
    const other = new KeysetCursorCodec({ ...FORMAT, version: 'u1' });
    assert.throws(() => codec.decode(other.encode({ at: 1, name: 'alpha' })), InvalidRequestError);
  });

  it('a format may choose the error a refused cursor raises', () => {
    class ListError extends Error {}
    const custom = new KeysetCursorCodec({ ...FORMAT, invalid: (d) => new ListError(`c ${d}`) });
    assert.throws(() => custom.decode('@'), ListError);
  });

  it('the refusal never echoes the cursor content', () => {
    const secretish = raw(['t1', 1, 'not-an-id-but-a-secret']);
    assert.throws(
      () => codec.decode(secretish),
      (err: unknown) =>
        err instanceof Error && !err.message.includes(secretish) && !err.message.includes('secret'),
    );
  });
});
