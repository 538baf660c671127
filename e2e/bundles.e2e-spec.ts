import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from './support/stack';
import {
  READS_PAUSED_REASON,
  REJECTED_BUNDLES,
  readerPolicy,
  readsPausedPolicy,
} from './support/policies';

/** Activation answers 200 (`@HttpCode(200)` on the control plane's activate route). */
function assertActivated(status: number, text: string): void {
  assert.equal(status, 200, `activate answered ${status}: ${text}`);
}

describe('bundles: upload, rejection, activation and distribution', () => {
  let stack: Stack;
  let reader: string;
  let v1 = 0;
  let v2 = 0;

  before(async () => {
    stack = await Stack.start({ label: 'bundles' });
    reader = await stack.token('fn-bundles-reader', { roles: ['crm-reader'] });
  });
  after(async () => {
    await stack?.stop();
  });

  it('with no policy activated, the enforcer fails closed (503) and forwards nothing', async () => {
    const before = await stack.upstreamRequests();
    const res = await stack.proxy('GET', '/crm/customers', { token: reader });
    assert.equal(res.status, 503, res.text);
    assert.equal((res.body as { error: { code: string } }).error.code, 'no_policy');
    const id = res.headers.get('x-portcullis-decision-id');
    assert.ok(id);
    assert.equal(await stack.upstreamRequests(), before);
    const [stored] = await stack
      .waitForDecisions([id])
      .then((all) => all.filter((d) => d.decision_id === id));
    assert.equal(stored.outcome, 'error');
    assert.equal(stored.status, 503);
  });

  it('the control plane refuses uploads without a token (401) and from callers without policy-admin (403)', async () => {
    const anonymous = await stack.upload(readerPolicy(), { token: null });
    assert.equal(anonymous.status, 401, anonymous.text);
    assert.equal(typeof (anonymous.body as { error: { code: string } }).error.code, 'string');
    const auditor = await stack.token('e2e-auditor', { portcullis_roles: ['auditor'] });
    const forbidden = await stack.upload(readerPolicy(), { token: auditor });
    assert.equal(forbidden.status, 403, forbidden.text);
    assert.equal(typeof (forbidden.body as { error: { code: string } }).error.code, 'string');
  });

  for (const bad of REJECTED_BUNDLES) {
    it(`${bad.name} is rejected with 422 naming the file and line`, async () => {
      const res = await stack.upload(bad.modules, { activate: true });
      assert.equal(res.status, 422, res.text);
      const errors = (
        res.body as {
          errors: { code: string; file: string; row: number; col: number; message: string }[];
        }
      ).errors;
      assert.ok(Array.isArray(errors) && errors.length > 0, res.text);
      const hit = errors.find(
        (e) => typeof e.file === 'string' && e.file.endsWith(bad.expect.file),
      );
      assert.ok(hit, `an error names ${bad.expect.file}: ${res.text}`);
      assert.equal(hit.row, bad.expect.row, `line of the problem: ${res.text}`);
      assert.match(hit.message, bad.expect.message);
      if (bad.expect.code) assert.match(hit.code, bad.expect.code);
      assert.equal(typeof hit.code, 'string');
    });
  }

  it('a rejected upload activates nothing: the enforcer still fails closed', async () => {
    const before = await stack.upstreamRequests();
    const res = await stack.proxy('GET', '/crm/customers', { token: reader });
    assert.equal(res.status, 503, res.text);
    assert.equal((res.body as { error: { code: string } }).error.code, 'no_policy');
    assert.equal(await stack.upstreamRequests(), before, 'nothing was forwarded');
  });

  it('an activated version reaches the running enforcer', async () => {
    const res = await stack.upload(readerPolicy(), { activate: true });
    assert.equal(res.status, 201, res.text);
    const body = res.body as { version: number; digest: string; active: boolean; bundle: string };
    assert.equal(body.bundle, 'default');
    assert.equal(body.active, true);
    assert.match(body.digest, /^[0-9a-f]{64}$/);
    v1 = body.version;
    await stack.waitForEnforcerVersion(stack.enforcer, v1);
    const allowed = await stack.proxy('GET', '/crm/customers', { token: reader });
    assert.equal(allowed.status, 200, allowed.text);
  });

  it('an uploaded but not activated version changes nothing', async () => {
    const res = await stack.upload(readsPausedPolicy(), { activate: false });
    assert.equal(res.status, 201, res.text);
    v2 = (res.body as { version: number }).version;
    assert.ok(v2 > v1);
    const bundle = await stack.api('GET', '/v1/bundles/default');
    assert.equal(bundle.status, 200, bundle.text);
    assert.equal((bundle.body as { active_version: number }).active_version, v1);
    const still = await stack.proxy('GET', '/crm/customers', { token: reader });
    assert.equal(still.status, 200, still.text);
  });

  it('activating a new version changes the decision of a running enforcer', async (t) => {
    const res = await stack.activate(v2);
    const activatedAt = performance.now();
    assertActivated(res.status, res.text);
    let polls = 0;
    let last = 200;
    const deadline = activatedAt + 10_000;
    while (performance.now() < deadline) {
      polls++;
      const r = await stack.proxy('GET', '/crm/customers', { token: reader });
      last = r.status;
      if (r.status === 403) {
        assert.deepEqual((r.body as { reasons: string[] }).reasons, [READS_PAUSED_REASON]);
        break;
      }
      assert.equal(r.status, 200, `during the swap every call is decided by v1 or v2: ${r.text}`);
    }
    const elapsed = performance.now() - activatedAt;
    assert.equal(last, 403, 'the running enforcer switched to v2 within 10 s');
    t.diagnostic(`activation → enforcement: ${elapsed.toFixed(1)} ms (${polls} polls)`);
    await stack.waitForEnforcerVersion(stack.enforcer, v2);
  });

  it('activating the earlier version rolls back', async () => {
    const res = await stack.activate(v1);
    assertActivated(res.status, res.text);
    await stack.waitForEnforcerVersion(stack.enforcer, v1);
    const r = await stack.proxy('GET', '/crm/customers', { token: reader });
    assert.equal(r.status, 200, r.text);
    const bundle = await stack.api('GET', '/v1/bundles/default');
    assert.equal((bundle.body as { active_version: number }).active_version, v1);
  });

  it('an enforcer started after activation enforces the active version from its first call', async () => {
    const activated = await stack.activate(v2);
    assertActivated(activated.status, activated.text);
    await stack.waitForEnforcerVersion(stack.enforcer, v2);
    const late = await stack.startEnforcer('bundles-late');
    // No waiting for a status report: the first call must already be decided by v2, or fail closed
    // while the bundle loads; it must never be allowed.
    const first = await stack.proxy('GET', '/crm/customers', { token: reader, enforcer: late });
    assert.ok(
      first.status === 403 || first.status === 503,
      `first call on the late enforcer: ${first.status} ${first.text}`,
    );
    await stack.waitForEnforcerVersion(late, v2);
    const r = await stack.proxy('GET', '/crm/customers', { token: reader, enforcer: late });
    assert.equal(r.status, 403, r.text);
    assert.deepEqual((r.body as { reasons: string[] }).reasons, [READS_PAUSED_REASON]);
    const id = r.headers.get('x-portcullis-decision-id');
    assert.ok(id);
    const stored = (await stack.waitForDecisions([id])).find((d) => d.decision_id === id);
    assert.equal(stored?.enforcer_id, 'bundles-late');
  });
});
