import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decisionCursorCodec } from './decision-cursor.codec';
import { DECISION_PAGE_LIMIT, DecisionQueryParser } from './decision-query.parser';
import { DecisionQueryError } from './decision.errors';
import { DecisionTimestamp } from './decision.timestamp';

function rejects(raw: Record<string, unknown>, parameter: string): void {
  assert.throws(
    () => DecisionQueryParser.parse(raw),
    (err: unknown) => {
      assert.ok(
        err instanceof DecisionQueryError,
        `expected DecisionQueryError, got ${String(err)}`,
      );
      assert.equal(err.parameter, parameter);
      assert.ok(err.message.startsWith(parameter), `message names the parameter: ${err.message}`);
      return true;
    },
  );
}

describe('DecisionQueryParser', () => {
  it('without parameters the page size is the default and nothing is filtered', () => {
    assert.deepEqual(DecisionQueryParser.parse({}), { limit: DECISION_PAGE_LIMIT.default });
  });

  it('every documented filter is read into the query', () => {
    const cursor = decisionCursorCodec.encode({
      timestampUs: 5,
      decisionId: '0b7a3c1e-6a43-4c5e-9f1d-2b8e4f6a9c10',
    });
    const q = DecisionQueryParser.parse({
      subject: 'spiffe://prod/billing',
      connection: 'crm',
      outcome: 'deny',
      bundle: 'default',
      bundle_version: '7',
      enforcer_id: 'edge-1',
      from: '2025-01-01T00:00:00Z',
      to: '2025-01-01T01:00:00.5+01:00',
      limit: '500',
      cursor,
    });
    assert.deepEqual(q, {
      subject: 'spiffe://prod/billing',
      connection: 'crm',
      outcome: 'deny',
      bundle: 'default',
      bundleVersion: 7,
      enforcerId: 'edge-1',
      fromUs: Date.UTC(2025, 0, 1) * 1000,
      toUs: Date.UTC(2025, 0, 1) * 1000 + 500_000,
      limit: 500,
      cursor: { timestampUs: 5, decisionId: '0b7a3c1e-6a43-4c5e-9f1d-2b8e4f6a9c10' },
    });
  });

  it('an unknown parameter (a typo that would silently widen the result) is rejected by name', () => {
    rejects({ subjet: 'x' }, 'subjet');
  });

  it('a repeated parameter is rejected rather than one value silently winning', () => {
    rejects({ outcome: ['allow', 'deny'] }, 'outcome');
  });

  it('an empty parameter is rejected rather than read as "no filter"', () => {
    rejects({ subject: '' }, 'subject');
  });

  it('outcome accepts only allow, deny and error', () => {
    for (const o of ['allow', 'deny', 'error'])
      assert.equal(DecisionQueryParser.parse({ outcome: o }).outcome, o);
    rejects({ outcome: 'DENY' }, 'outcome');
    rejects({ outcome: 'denied' }, 'outcome');
  });

  for (const bad of ['0', '-1', '501', '1.5', 'ten', '1e2', ' 5', '00050']) {
    it(`limit=${JSON.stringify(bad)} is rejected (1 to ${DECISION_PAGE_LIMIT.max})`, () =>
      rejects({ limit: bad }, 'limit'));
  }

  for (const bad of ['0', '-2', 'v3', '3.0', '99999999999999999999']) {
    it(`bundle_version=${JSON.stringify(bad)} is rejected`, () =>
      rejects({ bundle_version: bad }, 'bundle_version'));
  }

  for (const bad of [
    '2025-01-01',
    'yesterday',
    '1735689600',
    '2025-02-30T00:00:00Z',
    '2025-01-01T24:00:00Z',
    '2025-01-01T00:00:00',
  ]) {
    it(`from=${JSON.stringify(bad)} is rejected: only RFC 3339 date-times with a zone are accepted`, () =>
      rejects({ from: bad }, 'from'));
  }

  it('a window whose end is not after its start is rejected', () => {
    rejects({ from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' }, 'to');
    rejects({ from: '2025-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, 'to');
  });

  it('bundle and enforcer_id must be names as NATS subjects allow them', () => {
    rejects({ bundle: 'Default' }, 'bundle');
    rejects({ enforcer_id: 'a.b' }, 'enforcer_id');
  });

  it('an overlong subject is rejected instead of reaching the database', () => {
    rejects({ subject: 'x'.repeat(1025) }, 'subject');
  });

  it('a bad cursor is reported as the cursor parameter', () => {
    rejects({ cursor: 'garbage' }, 'cursor');
  });

  it('a control character in an unknown parameter name is not echoed raw', () => {
    assert.throws(
      () => DecisionQueryParser.parse({ 'a\nb': '1' }),
      (err: unknown) => err instanceof DecisionQueryError && !err.message.includes('\n'),
    );
  });
});

describe('DecisionTimestamp', () => {
  it('keeps microseconds, so events within one millisecond still sort', () => {
    const a = DecisionTimestamp.toEpochMicros('2025-01-01T00:00:00.123456Z');
    const b = DecisionTimestamp.toEpochMicros('2025-01-01T00:00:00.123457Z');
    assert.equal(a, Date.UTC(2025, 0, 1) * 1000 + 123_456);
    assert.equal((b ?? 0) - (a ?? 0), 1);
  });

  it('normalizes offsets, so the same instant in two zones is the same key', () => {
    assert.equal(
      DecisionTimestamp.toEpochMicros('2025-06-01T12:00:00+02:00'),
      DecisionTimestamp.toEpochMicros('2025-06-01T10:00:00Z'),
    );
  });

  it('truncates nanoseconds rather than rounding into the next microsecond', () => {
    assert.equal(
      DecisionTimestamp.toEpochMicros('2025-01-01T00:00:00.000000999Z'),
      DecisionTimestamp.toEpochMicros('2025-01-01T00:00:00Z'),
    );
  });

  it('agrees with Date for what Date.toISOString produces', () => {
    const d = new Date(Date.UTC(2031, 11, 31, 23, 59, 59, 999));
    assert.equal(DecisionTimestamp.toEpochMicros(d.toISOString()), d.getTime() * 1000);
  });

  it('a year before 100 is that year, not 19xx', () => {
    // 0050 lies outside the representable range; it used to be read as 1950, which is not.
    assert.equal(DecisionTimestamp.toEpochMicros('0050-01-01T00:00:00Z'), null);
    assert.equal(
      DecisionQueryParser.parse({ to: '0050-01-01T00:00:00Z' }).toUs,
      Number.MIN_SAFE_INTEGER,
    );
    assert.equal(
      DecisionQueryParser.parse({ to: '0004-02-29T00:00:00Z' }).toUs,
      Number.MIN_SAFE_INTEGER,
    );
    rejects({ to: '0003-02-29T00:00:00Z' }, 'to');
  });

  it('a valid query bound beyond the representable range is clamped, not refused', () => {
    const q = DecisionQueryParser.parse({
      from: '0001-01-01T00:00:00Z',
      to: '9999-12-31T23:59:59Z',
    });
    assert.equal(q.fromUs, Number.MIN_SAFE_INTEGER);
    assert.equal(q.toUs, Number.MAX_SAFE_INTEGER);
    rejects({ to: '9999-02-30T00:00:00Z' }, 'to');
  });
});
