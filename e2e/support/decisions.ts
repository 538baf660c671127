import assert from 'node:assert/strict';

/** A decision record as GET /v1/decisions returns it (the DecisionEvent fields). */
export type DecisionRecord = Record<string, unknown>;

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** Bundle name/version/digest of a record (`bundle: {name, version, digest}` per the event contract). */
export function bundleOf(r: DecisionRecord): { name: unknown; version: unknown; digest: unknown } {
  const b = obj(r.bundle);
  return { name: b?.name, version: b?.version, digest: b?.digest };
}

/**
 * Asserts the fields every decision record must carry (issue 2, §3): decision_id, timestamp,
 * path, input, result, bundle name/version/digest, enforcer_id, outcome, status, evaluation time.
 * `evaluated` is false for calls rejected before evaluation (401), which have no input/result.
 */
export function assertDecisionFields(
  r: DecisionRecord,
  expect: {
    decisionId: string;
    enforcerId: string;
    outcome: 'allow' | 'deny' | 'error';
    status: number;
    evaluated: boolean;
    bundleVersion?: number;
  },
): void {
  const where = `decision ${expect.decisionId}`;
  assert.equal(r.decision_id, expect.decisionId, where);
  assert.equal(typeof r.timestamp, 'string', `${where}: timestamp`);
  assert.ok(!Number.isNaN(Date.parse(r.timestamp as string)), `${where}: timestamp is RFC 3339`);
  assert.equal(r.path, 'portcullis/decision', `${where}: path is the policy entrypoint`);
  assert.equal(r.enforcer_id, expect.enforcerId, `${where}: enforcer_id`);
  assert.equal(r.outcome, expect.outcome, `${where}: outcome`);
  assert.equal(r.status, expect.status, `${where}: status`);
  assert.ok('input' in r, `${where}: has input`);
  assert.ok('result' in r, `${where}: has result`);
  const bundle = bundleOf(r);
  assert.equal(bundle.name, 'default', `${where}: bundle name`);
  if (expect.evaluated) {
    assert.ok(obj(r.input), `${where}: input is the evaluated input document`);
    assert.ok(obj(r.result), `${where}: result is the decision document`);
    assert.equal(typeof obj(r.result)?.allow, 'boolean', `${where}: result.allow`);
    assert.equal(bundle.version, expect.bundleVersion, `${where}: bundle version`);
    assert.match(String(bundle.digest), /^[0-9a-f]{64}$/, `${where}: bundle digest`);
    const evalNs = obj(r.metrics)?.timer_eval_ns;
    assert.ok(
      typeof evalNs === 'number' && evalNs >= 0,
      `${where}: metrics.timer_eval_ns (OPA's decision-log name), got ${String(evalNs)}`,
    );
  }
}

/** Asserts that no stored text contains any of the secrets (a token, or its signature part alone). */
export function assertNoSecrets(haystack: string, secrets: string[], what: string): void {
  for (const secret of secrets) {
    const signature = secret.split('.')[2] ?? '';
    assert.ok(!haystack.includes(secret), `${what} contains a bearer token`);
    if (signature.length >= 16)
      assert.ok(!haystack.includes(signature), `${what} contains a token signature`);
  }
}
