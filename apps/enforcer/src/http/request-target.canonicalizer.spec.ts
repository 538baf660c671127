import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalizeTarget } from './request-target.canonicalizer';

describe('request target canonicalization', () => {
  const accepted: [string, string, string, string][] = [
    // [description, target, connection, canonical path]
    ['a plain path passes through unchanged', '/crm/customers/42', 'crm', '/customers/42'],
    ['the connection alone maps to the upstream root', '/crm', 'crm', '/'],
    ['a trailing slash is kept (it can change meaning)', '/crm/customers/', 'crm', '/customers/'],
    ['encoded unreserved letters are decoded', '/crm/%63ustomers/%34%32', 'crm', '/customers/42'],
    ['encoded unreserved punctuation is decoded', '/crm/a%2Db%5Fc%7Ed%2Ee', 'crm', '/a-b_c~d.e'],
    ['other escapes are kept and upper-cased', '/crm/a%20b%3fc', 'crm', '/a%20b%3Fc'],
    ['UTF-8 escapes are kept', '/crm/%c3%a9', 'crm', '/%C3%A9'],
    ['a lone %25 not followed by hex is a literal percent', '/crm/100%25', 'crm', '/100%25'],
    ['sub-delims and : @ are allowed', "/crm/ab=c,d:e@f!$&'()*+", 'crm', "/ab=c,d:e@f!$&'()*+"],
    [
      'an encoded ";" is kept encoded (it means the same to every server)',
      '/crm/a%3bb',
      'crm',
      '/a%3Bb',
    ],
    ['"+" in the path stays a literal plus', '/crm/a+b', 'crm', '/a+b'],
    ['dots inside a segment are fine', '/crm/file.tar.gz/..x/x..', 'crm', '/file.tar.gz/..x/x..'],
  ];
  for (const [what, target, connection, path] of accepted) {
    it(what, () => {
      const r = canonicalizeTarget(target);
      assert.equal(r.ok, true, r.ok ? '' : r.reason);
      assert.ok(r.ok);
      assert.equal(r.connection, connection);
      assert.equal(r.path, path);
    });
  }

  const rejected: [string, string, RegExp][] = [
    ['an encoded slash is rejected', '/crm/a%2Fb', /encoded slash/],
    ['a lower-case encoded slash is rejected', '/crm/a%2fb', /encoded slash/],
    ['an encoded backslash is rejected', '/crm/a%5Cb', /encoded backslash/],
    ['a raw backslash is rejected', '/crm/a\\b', /backslash/],
    ['a ".." segment is rejected', '/crm/a/../admin', /"\." or "\.\." segment/],
    ['a "." segment is rejected', '/crm/./admin', /segment/],
    ['a ".." spelled %2e%2e is rejected after decoding', '/crm/%2e%2e/admin', /segment/],
    ['a ".." spelled .%2E is rejected after decoding', '/crm/.%2E/admin', /segment/],
    ['a "..;" servlet parameter trick is rejected', '/crm/..;/admin', /";"/],
    ['a path parameter that servlet routing would cut off is rejected', '/crm/admin;x=1/', /";"/],
    ['a ";" query separator that servers read differently is rejected', '/crm/x?a=1;b=2', /";"/],
    ['a double-encoded dot is rejected', '/crm/%252e%252e/admin', /double-encoded/],
    ['a connection segment of ".." is rejected', '/../crm/x', /segment/],
    ['an encoded NUL is rejected', '/crm/a%00b', /control character/],
    ['an encoded newline is rejected', '/crm/a%0d%0aSet-Cookie:x', /control character/],
    ['an encoded DEL is rejected', '/crm/a%7f', /control character/],
    ['a raw control character is rejected', '/crm/a\u0001b', /control character/],
    ['double encoding of a slash is rejected', '/crm/a%252Fb', /double-encoded/],
    ['double encoding of a dot is rejected', '/crm/%252e%252e/x', /double-encoded/],
    ['a malformed escape is rejected', '/crm/a%zz', /malformed percent-encoding/],
    ['a truncated escape is rejected', '/crm/a%2', /malformed percent-encoding/],
    ['an empty segment is rejected rather than collapsed', '/crm//admin', /empty segment/],
    ['a space is rejected', '/crm/a b', /space/],
    ['non-ASCII is rejected (must be percent-encoded)', '/crm/é', /non-ASCII/],
    ['a fragment is rejected', '/crm/a#b', /fragment/],
    ['a relative target is rejected', 'crm/a', /absolute path/],
    ['a query with an encoded NUL is rejected', '/crm/a?x=%00', /control character/],
    [
      'a query with a malformed escape is rejected',
      '/crm/a?x=%E0%A4%A',
      /malformed percent-encoding/,
    ],
    ['a query with a raw space is rejected', '/crm/a?x=a b', /space/],
  ];
  for (const [what, target, reason] of rejected) {
    it(what, () => {
      const r = canonicalizeTarget(target);
      assert.equal(r.ok, false, `accepted ${JSON.stringify(target)}`);
      assert.ok(!r.ok);
      assert.match(r.reason, reason);
    });
  }

  it('the query is a map of arrays with repeated names kept in order', () => {
    const r = canonicalizeTarget('/crm/search?q=a+b&tag=x&tag=y&flag&e=%C3%A9');
    assert.ok(r.ok);
    assert.deepEqual(r.query, { q: ['a b'], tag: ['x', 'y'], flag: [''], e: ['é'] });
    assert.equal(r.rawQuery, 'q=a+b&tag=x&tag=y&flag&e=%C3%A9');
  });

  it('a query name like __proto__ cannot pollute the map', () => {
    const r = canonicalizeTarget('/crm/x?__proto__=1&constructor=2');
    assert.ok(r.ok);
    assert.deepEqual(r.query.__proto__, ['1']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a target without a query has an empty query map and no raw query', () => {
    const r = canonicalizeTarget('/crm/x');
    assert.ok(r.ok);
    assert.deepEqual(r.query, {});
    assert.equal(r.rawQuery, null);
  });

  it('canonicalization is idempotent: the canonical form canonicalizes to itself', () => {
    for (const [, target] of accepted) {
      const once = canonicalizeTarget(target);
      assert.ok(once.ok);
      const twice = canonicalizeTarget(`/${once.connection}${once.path}`);
      assert.ok(twice.ok);
      assert.equal(twice.path, once.path);
    }
  });
});
