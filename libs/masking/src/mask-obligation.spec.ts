import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMaskObligation } from './mask-obligation';

function message(value: unknown): string {
  const r = parseMaskObligation(value);
  assert.equal(r.ok, false, `${JSON.stringify(value)} must be refused`);
  return r.ok ? '' : r.message;
}

describe('mask obligation', () => {
  it('fields and detectors default to empty and strategy to redact', () => {
    const r = parseMaskObligation({});
    assert.ok(r.ok);
    assert.deepEqual(r.spec, { fields: [], detectors: [], strategy: 'redact' });
  });

  it('a full obligation compiles its paths and keeps its detectors and strategy', () => {
    const r = parseMaskObligation({
      fields: ['$.card', '$..ssn'],
      detectors: ['email', 'phone', 'email'],
      strategy: 'hash',
    });
    assert.ok(r.ok);
    assert.deepEqual(
      r.spec.fields.map((f) => f.source),
      ['$.card', '$..ssn'],
    );
    assert.deepEqual(r.spec.detectors, ['email', 'phone']);
    assert.equal(r.spec.strategy, 'hash');
    assert.ok(Object.isFrozen(r.spec) && Object.isFrozen(r.spec.fields));
  });

  it('a malformed path is refused naming its index, its text and the reason', () => {
    assert.equal(
      message({ fields: ['$.ok', '$.a['] }),
      'decision.mask.fields[1] "$.a[" : unterminated bracket',
    );
    assert.equal(
      message({ fields: [7] }),
      'decision.mask.fields[0] must be a string, got a number',
    );
    assert.match(message({ fields: '$.a' }), /decision\.mask\.fields must be an array/);
  });

  it('more than 256 field paths are refused', () => {
    assert.equal(parseMaskObligation({ fields: Array(256).fill('$.a') }).ok, true);
    assert.match(message({ fields: Array(257).fill('$.a') }), /fields has 257 paths; at most 256/);
  });

  it('unknown keys, detectors and strategies are refused by name', () => {
    assert.match(message({ field: ['$.a'] }), /decision\.mask: unknown key "field"/);
    assert.match(
      message({ detectors: ['email', 'passport'] }),
      /^decision\.mask\.detectors\[1\] "passport" : unknown detector/,
    );
    assert.match(message({ detectors: 'email' }), /decision\.mask\.detectors must be an array/);
    assert.match(
      message({ strategy: 'shred' }),
      /^decision\.mask\.strategy "shred" : unknown strategy/,
    );
    assert.match(message({ strategy: null }), /decision\.mask\.strategy null : unknown strategy/);
  });

  it('an obligation that is not an object is refused', () => {
    for (const v of [null, true, [], '$.a'])
      assert.match(message(v), /^decision\.mask must be an object/);
  });
});
