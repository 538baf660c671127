import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { foreignCharset, hasNonUtf8Bytes } from './body-kind.rules';

describe('text the detectors can read', () => {
  it('UTF-8 and its ASCII subset, in any spelling, are readable; no charset means UTF-8', () => {
    for (const ct of [
      undefined,
      'text/plain',
      'application/json; charset=utf-8',
      'application/json;charset="UTF8"',
      'text/csv; charset=US-ASCII',
      'text/plain; charset=ascii',
    ]) {
      assert.equal(foreignCharset(ct), null, String(ct));
    }
  });

  it('any other declared charset is named as sent, quoted or not', () => {
    assert.equal(foreignCharset('application/json; charset=UTF-16'), 'UTF-16');
    assert.equal(foreignCharset('text/plain; format=flowed; charset="iso-8859-1"'), 'iso-8859-1');
  });

  it('a UTF-16/32 byte-order mark or a NUL byte is not UTF-8 text, whatever the header says', () => {
    assert.equal(hasNonUtf8Bytes(Buffer.from([0xfe, 0xff, 0x4e, 0x2d])), true);
    assert.equal(hasNonUtf8Bytes(Buffer.from([0xff, 0xfe, 0x2d, 0x4e])), true);
    assert.equal(hasNonUtf8Bytes(Buffer.from('a\u0000b')), true);
    assert.equal(hasNonUtf8Bytes(Buffer.from('plain ✓ text')), false);
    assert.equal(hasNonUtf8Bytes(Buffer.alloc(0)), false);
  });
});
