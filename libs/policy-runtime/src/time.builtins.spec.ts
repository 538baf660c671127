import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuiltinError } from './builtin-value';
import { timeBuiltins } from './time.builtins';

const NOW = 1_704_067_200_123_456_789n; // 2024-01-01T00:00:00.123456789Z
const builtins = timeBuiltins(() => NOW);

/** Calls a builtin and decodes the exact-integer form (ArrayBuffer of JSON text) to a bigint. */
function call(name: string, ...args: unknown[]): unknown {
  const fn = builtins[name];
  assert.ok(fn, `builtin ${name} exists`);
  const out = fn(...args);
  return out instanceof ArrayBuffer ? BigInt(new TextDecoder().decode(out)) : out;
}

function ns(iso: string): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n;
}

describe('time.* builtins (OPA semantics)', () => {
  it('time.now_ns returns the instant captured for the evaluation, exactly to the nanosecond', () => {
    assert.equal(call('time.now_ns'), NOW);
  });

  describe('time.parse_rfc3339_ns', () => {
    it('keeps all nine fractional digits (results are written as exact JSON integers)', () => {
      assert.equal(call('time.parse_rfc3339_ns', '2024-01-01T00:00:00.123456789Z'), NOW);
    });
    it('applies a numeric offset', () => {
      assert.equal(
        call('time.parse_rfc3339_ns', '2024-01-01T01:00:00+01:00'),
        ns('2024-01-01T00:00:00Z'),
      );
      assert.equal(
        call('time.parse_rfc3339_ns', '2023-12-31T19:00:00-05:00'),
        ns('2024-01-01T00:00:00Z'),
      );
    });
    it('rejects impossible dates and malformed text', () => {
      assert.throws(() => call('time.parse_rfc3339_ns', '2023-02-29T00:00:00Z'), BuiltinError);
      assert.throws(() => call('time.parse_rfc3339_ns', '2024-01-01 00:00:00Z'), BuiltinError);
      assert.throws(() => call('time.parse_rfc3339_ns', '2024-01-01T00:00:00'), BuiltinError);
      assert.throws(() => call('time.parse_rfc3339_ns', 42), BuiltinError);
    });
    it('accepts a leap day and rejects times outside the int64 nanosecond range', () => {
      assert.equal(
        call('time.parse_rfc3339_ns', '2024-02-29T00:00:00Z'),
        ns('2024-02-29T00:00:00Z'),
      );
      assert.throws(() => call('time.parse_rfc3339_ns', '2263-01-01T00:00:00Z'), BuiltinError);
    });
  });

  describe('time.parse_duration_ns', () => {
    it('parses Go durations including fractions and mixed units', () => {
      assert.equal(call('time.parse_duration_ns', '1h30m'), 5_400_000_000_000n);
      assert.equal(call('time.parse_duration_ns', '1.5h'), 5_400_000_000_000n);
      assert.equal(call('time.parse_duration_ns', '-250ms'), -250_000_000n);
      assert.equal(call('time.parse_duration_ns', '3µs'), 3_000n);
      assert.equal(call('time.parse_duration_ns', '0'), 0n);
    });
    it('supports OPA’s day, week and year units', () => {
      assert.equal(call('time.parse_duration_ns', '1d'), 86_400_000_000_000n);
      assert.equal(call('time.parse_duration_ns', '2w1h'), (14n * 24n + 1n) * 3_600_000_000_000n);
      assert.equal(call('time.parse_duration_ns', '1y'), 365n * 86_400_000_000_000n);
    });
    it('rejects missing or unknown units and empty text', () => {
      for (const bad of ['', '10', '1x', 'h', '1.2.3d']) {
        assert.throws(() => call('time.parse_duration_ns', bad), BuiltinError, bad);
      }
    });
  });

  describe('zones', () => {
    const newYear = Number(ns('2024-01-01T00:00:00Z'));
    it('reads a bare number as UTC', () => {
      assert.deepEqual(call('time.date', newYear), [2024, 1, 1]);
      assert.deepEqual(call('time.clock', newYear), [0, 0, 0]);
      assert.equal(call('time.weekday', newYear), 'Monday');
    });
    it('reads [ns, tz] in the named IANA zone', () => {
      assert.deepEqual(call('time.date', [newYear, 'America/New_York']), [2023, 12, 31]);
      assert.deepEqual(call('time.clock', [newYear, 'America/New_York']), [19, 0, 0]);
      assert.equal(call('time.weekday', [newYear, 'America/New_York']), 'Sunday');
      assert.deepEqual(call('time.clock', [newYear, 'Asia/Kolkata']), [5, 30, 0]);
    });
    it('treats "" and "UTC" as UTC and a one-element array as UTC', () => {
      assert.deepEqual(call('time.clock', [newYear, '']), [0, 0, 0]);
      assert.deepEqual(call('time.clock', [newYear, 'UTC']), [0, 0, 0]);
      assert.deepEqual(call('time.clock', [newYear]), [0, 0, 0]);
    });
    it('rejects unknown zones, non-integer and out-of-range timestamps', () => {
      assert.throws(() => call('time.date', [newYear, 'Mars/Olympus_Mons']), BuiltinError);
      assert.throws(() => call('time.date', 1.5), BuiltinError);
      assert.throws(() => call('time.date', 2 ** 64), BuiltinError);
      assert.throws(() => call('time.date', []), BuiltinError);
      assert.throws(() => call('time.date', 'yesterday'), BuiltinError);
    });
    it('floors negative timestamps (before 1970) instead of truncating toward zero', () => {
      assert.deepEqual(call('time.clock', -1), [23, 59, 59]);
      assert.deepEqual(call('time.date', -1), [1969, 12, 31]);
    });
  });

  describe('time.add_date', () => {
    it('normalizes overflowing days like Go (Jan 31 + 1 month = Mar 2 in a leap year)', () => {
      assert.equal(
        call('time.add_date', Number(ns('2024-01-31T10:00:00Z')), 0, 1, 0),
        ns('2024-03-02T10:00:00Z'),
      );
    });
    it('keeps the wall clock across a DST change in the given zone', () => {
      // 2024-03-09 12:00 EST + 1 day = 2024-03-10 12:00 EDT (23 hours later).
      const before = Number(ns('2024-03-09T17:00:00Z'));
      assert.equal(
        call('time.add_date', [before, 'America/New_York'], 0, 0, 1),
        ns('2024-03-10T16:00:00Z'),
      );
    });
    it('keeps sub-millisecond precision', () => {
      assert.equal(
        call('time.add_date', Number(ns('2024-01-01T00:00:00Z')) + 256, 1, 0, 0),
        ns('2025-01-01T00:00:00Z') + 256n,
      );
    });
    it('rejects results outside the int64 nanosecond range', () => {
      assert.throws(() => call('time.add_date', 0, 500, 0, 0), BuiltinError);
    });
  });

  describe('time.diff', () => {
    it('returns [years, months, days, hours, minutes, seconds] regardless of argument order', () => {
      const a = Number(ns('2024-01-31T00:00:00Z'));
      const b = Number(ns('2024-03-01T01:02:03Z'));
      assert.deepEqual(call('time.diff', a, b), [0, 1, 1, 1, 2, 3]);
      assert.deepEqual(call('time.diff', b, a), [0, 1, 1, 1, 2, 3]);
    });
    it('borrows across year boundaries', () => {
      assert.deepEqual(
        call('time.diff', Number(ns('2023-12-31T23:59:59Z')), Number(ns('2024-01-01T00:00:00Z'))),
        [0, 0, 0, 0, 0, 1],
      );
    });
  });
});
