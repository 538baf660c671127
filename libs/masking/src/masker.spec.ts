import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { DETECTORS, type DetectorName } from './detectors';
import { parseMaskObligation } from './mask-obligation';
import { Masker, type MaskSpec } from './masker';
import type { MaskStrategy } from './mask-strategy';
import { MaskingError } from './masking.error';

const key = Buffer.alloc(32, 7);
const masker = new Masker(key);

function spec(value: {
  fields?: string[];
  detectors?: DetectorName[];
  strategy?: MaskStrategy;
}): MaskSpec {
  const r = parseMaskObligation(value);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.spec;
}

function hmac32(k: Buffer, text: string): string {
  return createHmac('sha256', k).update(text).digest('hex').slice(0, 32);
}

describe('Masker construction', () => {
  it('a hash key shorter than 32 bytes is refused', () => {
    assert.throws(
      () => new Masker(Buffer.alloc(31)),
      (e: MaskingError) => e instanceof MaskingError && e.code === 'invalid_key',
    );
    assert.doesNotThrow(() => new Masker(Buffer.alloc(32)));
  });

  it('changing the caller key buffer afterwards does not change hashes', () => {
    const k = Buffer.alloc(32, 3);
    const m = new Masker(k);
    const before = m.maskText(
      'a@example.com',
      spec({ detectors: ['email'], strategy: 'hash' }),
    ).text;
    k.fill(9);
    assert.equal(
      m.maskText('a@example.com', spec({ detectors: ['email'], strategy: 'hash' })).text,
      before,
    );
  });
});

describe('strategies', () => {
  const text = 'card 4111-1111-1111-1111 ssn 123-45-6789 mail jane.doe@Example.com';

  it('redact names the detector', () => {
    const out = masker.maskText(text, spec({ detectors: [...DETECTORS] }));
    assert.equal(out.text, 'card [REDACTED:credit_card] ssn [REDACTED:ssn] mail [REDACTED:email]');
    assert.deepEqual(out.report, { fields: 0, detectors: { credit_card: 1, email: 1, ssn: 1 } });
  });

  it('partial keeps the last four characters and the separators, and an e-mail domain', () => {
    const out = masker.maskText(text, spec({ detectors: [...DETECTORS], strategy: 'partial' }));
    assert.equal(out.text, 'card ****-****-****-1111 ssn ***-**-6789 mail j***@Example.com');
  });

  it('hash is HMAC-SHA256 of the canonical value under the key', () => {
    const out = masker.maskText(text, spec({ detectors: [...DETECTORS], strategy: 'hash' }));
    assert.equal(
      out.text,
      `card [HASH:credit_card:${hmac32(key, '4111111111111111')}] ssn [HASH:ssn:${hmac32(key, '123456789')}] ` +
        `mail [HASH:email:${hmac32(key, 'jane.doe@example.com')}]`,
    );
  });

  it('one value hashes alike however it is spelled, so joins on the hash still work', () => {
    const hash = (t: string, d: DetectorName) =>
      masker.maskText(t, spec({ detectors: [d], strategy: 'hash' })).text;
    assert.equal(
      hash('4111 1111 1111 1111', 'credit_card'),
      hash('4111-1111-1111-1111', 'credit_card'),
    );
    assert.equal(hash('123 45 6789', 'ssn'), hash('123-45-6789', 'ssn'));
    assert.equal(
      hash('DE89 3704 0044 0532 0130 00', 'iban'),
      hash('DE89370400440532013000', 'iban'),
    );
    assert.equal(hash('JANE@EXAMPLE.COM', 'email'), hash('jane@example.com', 'email'));
    assert.equal(hash('(555) 123-4567', 'phone'), hash('+1 555 123 4567', 'phone'));
    assert.notEqual(
      hash('4111 1111 1111 1111', 'credit_card'),
      hash('5500 0000 0000 0004', 'credit_card'),
    );
  });

  it('a different key gives a different hash', () => {
    const other = new Masker(Buffer.alloc(32, 8));
    const s = spec({ detectors: ['email'], strategy: 'hash' });
    assert.notEqual(
      other.maskText('a@example.com', s).text,
      masker.maskText('a@example.com', s).text,
    );
  });

  it('partial stars short values entirely and stars non-ASCII letters too', () => {
    const s = spec({ fields: ['$.*'], strategy: 'partial' });
    const out = masker.maskJson(
      { pin: '1234', name: 'José Ñúñez-García', n: 4111111111111111, o: { a: 1 } },
      s,
    );
    assert.deepEqual(out.value, {
      pin: '****',
      name: '**** *****-**rcía',
      n: '************1111',
      o: '{"*":*}',
    });
  });
});

describe('field paths', () => {
  const doc = {
    user: { name: 'Jane', card_number: '4111111111111111', ssn: '123-45-6789' },
    items: [
      { sku: 'a', price: 1, secret: { pin: 1 } },
      { sku: 'b', price: 2 },
    ],
    'odd key': { 'a.b': true },
    nested: { deeper: { secret: 'x', list: [{ secret: 'y' }] } },
  };

  function masked(fields: string[]): { value: unknown; fields: number } {
    const out = masker.maskJson(doc, spec({ fields }));
    return { value: out.value, fields: out.report.fields };
  }

  it('a dotted name replaces the whole value of any type', () => {
    const out = masked(['$.user', '$.items[0].price']);
    assert.equal(out.fields, 2);
    assert.deepEqual((out.value as typeof doc).user, '[REDACTED]');
    assert.deepEqual((out.value as typeof doc).items[0], {
      sku: 'a',
      price: '[REDACTED]',
      secret: { pin: 1 },
    });
  });

  it('quoted names reach keys with spaces and dots', () => {
    const out = masked(['$[\'odd key\']["a.b"]']);
    assert.deepEqual((out.value as typeof doc)['odd key'], { 'a.b': '[REDACTED]' });
  });

  it('an index selects one array element and never an object member', () => {
    const out = masked(['$.items[1]', '$.user[0]']);
    assert.equal(out.fields, 1);
    assert.equal((out.value as typeof doc).items[1], '[REDACTED]');
  });

  it('wildcards select every member and every element', () => {
    const a = masked(['$.items[*].sku']);
    assert.equal(a.fields, 2);
    const b = masked(['$.user.*']);
    assert.deepEqual((b.value as typeof doc).user, {
      name: '[REDACTED]',
      card_number: '[REDACTED]',
      ssn: '[REDACTED]',
    });
  });

  it('recursive descent finds a name at every depth', () => {
    const out = masked(['$..secret']);
    assert.equal(out.fields, 3);
    const v = out.value as typeof doc;
    assert.equal(v.items[0].secret, '[REDACTED]');
    assert.deepEqual(v.nested.deeper, { secret: '[REDACTED]', list: [{ secret: '[REDACTED]' }] });
  });

  it('recursive descent with an index or wildcard selects below the start only', () => {
    const a = masked(['$..[0]']);
    assert.equal((a.value as typeof doc).items[0], '[REDACTED]');
    assert.deepEqual((a.value as typeof doc).nested.deeper.list, ['[REDACTED]']);
    const b = masked(['$.nested..*']);
    assert.deepEqual((b.value as typeof doc).nested, { deeper: '[REDACTED]' });
  });

  it('$ replaces the whole document', () => {
    const out = masker.maskJson(doc, spec({ fields: ['$'], strategy: 'redact' }));
    assert.deepEqual(out, { value: '[REDACTED]', report: { fields: 1, detectors: {} } });
  });

  it('a hit is counted once even when several paths select it', () => {
    assert.equal(masked(['$.user', '$.user.name', '$..name']).fields, 1);
  });

  it('field paths apply first and detectors scan what is left', () => {
    const out = masker.maskJson(
      doc,
      spec({ fields: ['$.user.card_number'], detectors: ['ssn', 'credit_card'] }),
    );
    assert.deepEqual((out.value as typeof doc).user, {
      name: 'Jane',
      card_number: '[REDACTED]',
      ssn: '[REDACTED:ssn]',
    });
    assert.deepEqual(out.report, { fields: 1, detectors: { ssn: 1 } });
  });

  it('hash of a field is keyed and canonical whatever the member order', () => {
    const s = spec({ fields: ['$.a', '$.b'], strategy: 'hash' });
    const out = masker.maskJson({ a: { x: 1, y: [true, null] }, b: { y: [true, null], x: 1 } }, s)
      .value as {
      a: string;
      b: string;
    };
    assert.equal(out.a, `[HASH:field:${hmac32(key, '{"x":1,"y":[true,null]}')}]`);
    assert.equal(out.a, out.b);
  });

  it('detectors scan string and number values, but not object keys', () => {
    const out = masker.maskJson(
      { 'jane@example.com': 4111111111111111, note: 'mail jane@example.com' },
      spec({ detectors: ['email', 'credit_card'] }),
    );
    assert.deepEqual(out.value, {
      'jane@example.com': '[REDACTED:credit_card]',
      note: 'mail [REDACTED:email]',
    });
  });
});

describe('maskJson safety', () => {
  it('the input is never mutated', () => {
    const input = {
      a: { card: '4111111111111111', list: [{ email: 'x@example.com' }] },
      b: [1, 2],
    };
    const copy = structuredClone(input);
    const out = masker.maskJson(
      input,
      spec({ fields: ['$.b[0]'], detectors: ['email', 'credit_card'] }),
    );
    assert.deepEqual(input, copy);
    assert.notEqual(out.value, input);
    assert.deepEqual(out.value, {
      a: { card: '[REDACTED:credit_card]', list: [{ email: '[REDACTED:email]' }] },
      b: ['[REDACTED]', 2],
    });
  });

  it('100 000 levels of nesting are masked without overflowing the stack', () => {
    let deep: unknown = { password: 'hunter2', mail: 'x@example.com' };
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? { a: deep } : [deep];
    const s = spec({ fields: ['$..password'], detectors: ['email'], strategy: 'hash' });
    const out = masker.maskJson(deep, s);
    assert.deepEqual(out.report, { fields: 1, detectors: { email: 1 } });
    const hashed = masker.maskJson({ p: deep }, spec({ fields: ['$.p'], strategy: 'hash' }));
    assert.match((hashed.value as { p: string }).p, /^\[HASH:field:[0-9a-f]{32}\]$/);
  });

  it('a member named __proto__ stays data and cannot change the prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "4111111111111111"}}') as unknown;
    const out = masker.maskJson(input, spec({ detectors: ['credit_card'] })).value as Record<
      string,
      unknown
    >;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, {
      polluted: '[REDACTED:credit_card]',
    });
  });

  it('a cyclic value is refused instead of looping', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    assert.throws(
      () => masker.maskJson(cyclic, spec({ detectors: ['email'] })),
      (e: MaskingError) => e instanceof MaskingError && e.code === 'not_json',
    );
  });

  it('a value shared by two members (not a cycle) is masked at both', () => {
    const shared = { mail: 'x@example.com' };
    const out = masker.maskJson({ a: shared, b: shared }, spec({ detectors: ['email'] }));
    assert.deepEqual(out.value, {
      a: { mail: '[REDACTED:email]' },
      b: { mail: '[REDACTED:email]' },
    });
  });

  it('scalars at the root pass through or are scanned', () => {
    const s = spec({ detectors: ['email'] });
    assert.equal(masker.maskJson(42, s).value, 42);
    assert.equal(masker.maskJson(null, s).value, null);
    assert.equal(masker.maskJson('x@example.com', s).value, '[REDACTED:email]');
  });

  it('an empty spec leaves text and values as they were', () => {
    const s = spec({});
    assert.deepEqual(masker.maskText('x@example.com', s), {
      text: 'x@example.com',
      report: { fields: 0, detectors: {} },
    });
    assert.deepEqual(masker.maskJson({ a: ['x@example.com'] }, s).value, { a: ['x@example.com'] });
  });

  it('a hand-built spec with an unknown strategy fails closed', () => {
    const bad = { fields: [], detectors: ['email'], strategy: 'shred' } as unknown as MaskSpec;
    assert.throws(() => masker.maskText('x@example.com', bad), MaskingError);
  });
});

describe('numbers are data too', () => {
  const cards = (() => {
    const parsed = parseMaskObligation({ detectors: ['credit_card'] });
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.spec;
  })();

  it('a card number sent as a JSON number is caught by the card detector', () => {
    const out = masker.maskJson({ card_number: 4111111111111111, qty: 3 }, cards);
    assert.deepEqual(out.value, { card_number: '[REDACTED:credit_card]', qty: 3 });
    assert.equal(out.report.detectors.credit_card, 1);
  });

  it('a 13-digit number that fails the Luhn check stays a number', () => {
    const out = masker.maskJson({ id: 1234567890123 }, cards);
    assert.deepEqual(out.value, { id: 1234567890123 });
  });

  it('an integer beyond 2^53 with 13+ digits is masked: parsing lost the digits that could clear it', () => {
    const out = masker.maskJson(JSON.parse('{"n": 9999999999999999999}'), cards);
    assert.deepEqual(out.value, { n: '[REDACTED:credit_card]' });
  });

  it('fractions and small numbers pass untouched', () => {
    const out = masker.maskJson({ price: 41.11, count: 4111 }, cards);
    assert.deepEqual(out.value, { price: 41.11, count: 4111 });
  });
});
