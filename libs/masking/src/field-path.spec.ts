import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFieldPath, type PathSegment } from './field-path';

function segments(source: string): readonly PathSegment[] {
  const r = parseFieldPath(source);
  assert.ok(r.ok, r.ok ? '' : `${source}: ${r.reason}`);
  return r.path.segments;
}

function reason(source: string): string {
  const r = parseFieldPath(source);
  assert.equal(r.ok, false, `${source} must be refused`);
  return r.ok ? '' : r.reason;
}

const name = (n: string, descendant = false): PathSegment => ({
  selector: { kind: 'name', name: n },
  descendant,
});
const index = (i: number, descendant = false): PathSegment => ({
  selector: { kind: 'index', index: i },
  descendant,
});
const wildcard = (descendant = false): PathSegment => ({
  selector: { kind: 'wildcard' },
  descendant,
});

describe('field path syntax', () => {
  it('every supported form compiles to its steps', () => {
    assert.deepEqual(segments('$'), []);
    assert.deepEqual(segments('$.card_number'), [name('card_number')]);
    assert.deepEqual(segments('$.content-type'), [name('content-type')]);
    assert.deepEqual(segments("$['a b']"), [name('a b')]);
    assert.deepEqual(segments('$["a.b"]'), [name('a.b')]);
    assert.deepEqual(segments('$[0]'), [index(0)]);
    assert.deepEqual(segments('$.items[12].pan'), [name('items'), index(12), name('pan')]);
    assert.deepEqual(segments('$[*]'), [wildcard()]);
    assert.deepEqual(segments('$.*'), [wildcard()]);
    assert.deepEqual(segments('$..password'), [name('password', true)]);
    assert.deepEqual(segments('$..*'), [wildcard(true)]);
    assert.deepEqual(segments('$..[3]'), [index(3, true)]);
    assert.deepEqual(segments("$..['x-y']"), [name('x-y', true)]);
    assert.deepEqual(segments('$.a..b.*[ 1 ]'), [name('a'), name('b', true), wildcard(), index(1)]);
  });

  it('quoted names honour escapes', () => {
    assert.deepEqual(segments(String.raw`$['it\'s']`), [name("it's")]);
    assert.deepEqual(segments(String.raw`$["say \"hi\""]`), [name('say "hi"')]);
    assert.deepEqual(segments(String.raw`$['a\\b']`), [name('a\\b')]);
    assert.deepEqual(segments(String.raw`$['\u00e9t\u00E9']`), [name('été')]);
    assert.deepEqual(segments(`$['a]b']`), [name('a]b')]);
  });

  it('filters, slices, unions, negative indices and scripts are refused by name', () => {
    assert.match(reason('$.a[?(@.x)]'), /filters are not supported/);
    assert.match(reason('$[1:3]'), /slices are not supported/);
    assert.match(reason('$[0,1]'), /unions are not supported/);
    assert.match(reason("$['a','b']"), /unions are not supported/);
    assert.match(reason('$[-1]'), /negative indices are not supported/);
    assert.match(reason('$[(@.length-1)]'), /script expressions are not supported/);
  });

  it('malformed paths are refused with the reason', () => {
    assert.equal(reason('$.a['), 'unterminated bracket');
    assert.equal(reason('$[1'), 'unterminated bracket');
    assert.equal(reason("$['abc"), 'unterminated string');
    assert.equal(reason('a.b'), 'must start with "$"');
    assert.equal(reason(''), 'must start with "$"');
    assert.match(reason('$.'), /expected a name or \* after "\." at the end/);
    assert.match(reason('$..'), /expected a name or \* after "\.\."/);
    assert.match(reason('$.a b'), /unexpected " " at position 3/);
    assert.match(reason(String.raw`$['\x']`), /invalid escape/);
    assert.match(reason(String.raw`$['\u12']`), /invalid escape/);
    assert.match(reason('$[01]'), /leading zero/);
    assert.match(reason('$[abc]'), /unexpected "a" in brackets/);
    assert.match(reason(`$.${'a'.repeat(2000)}`), /longer than 1024/);
  });
});
