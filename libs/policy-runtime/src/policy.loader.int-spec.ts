import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CAPABILITIES_FILE } from './capabilities';
import { compileWasm } from './opa-cli.test-support';
import { PolicyEvaluationError, type PolicyErrorCode } from './policy-evaluation.error';
import { loadPolicy } from './policy.loader';

const ALLOW_ADMINS = `package portcullis

decision := {"allow": allow, "reasons": reasons}

default allow := false

allow if "admin" in input.roles

reasons contains "not an admin" if not allow
reasons contains sprintf("team %s", [data.team]) if data.team
`;

function isPolicyError(code: PolicyErrorCode): (err: unknown) => boolean {
  return (err: unknown) => err instanceof PolicyEvaluationError && err.code === code;
}

async function rejectsWith(promise: Promise<unknown>, code: PolicyErrorCode): Promise<void> {
  await assert.rejects(promise, isPolicyError(code));
}

void describe('loadPolicy / LoadedPolicy.evaluate (real opa build -t wasm)', () => {
  let allowAdmins: Uint8Array;
  before(() => {
    allowAdmins = compileWasm({ 'policy.rego': ALLOW_ADMINS }, { capabilities: CAPABILITIES_FILE });
  });

  void it('returns the decision document, with the set of reasons as an array', async () => {
    const policy = await loadPolicy(allowAdmins, { team: 'crm' });
    assert.deepEqual(policy.evaluate({ roles: ['admin'] }), { allow: true, reasons: ['team crm'] });
    assert.deepEqual(policy.evaluate({ roles: [] }), {
      allow: false,
      reasons: ['not an admin', 'team crm'],
    });
  });

  void it('returns undefined when portcullis.decision is undefined', async () => {
    const wasm = compileWasm({
      'p.rego': 'package portcullis\n\ndecision := {"allow": true} if input.ok\n',
    });
    const policy = await loadPolicy(wasm, {});
    assert.equal(policy.evaluate({ ok: false }), undefined);
    assert.equal(policy.evaluate(undefined), undefined);
    assert.deepEqual(policy.evaluate({ ok: true }), { allow: true });
  });

  void it('each load is an independent instance: data and memory of one never leak into another', async () => {
    const a = await loadPolicy(allowAdmins, { team: 'a' });
    const b = await loadPolicy(allowAdmins, { team: 'b' });
    for (let i = 0; i < 200; i++) {
      assert.deepEqual(a.evaluate({ roles: ['admin'] }), { allow: true, reasons: ['team a'] });
      assert.deepEqual(b.evaluate({ roles: ['admin'] }), { allow: true, reasons: ['team b'] });
    }
  });

  void it('time.now_ns() is one value per evaluation, and the caller can pin it', async () => {
    const wasm = compileWasm(
      {
        'p.rego':
          'package portcullis\n\ndecision := {"allow": true, "a": time.now_ns(), "b": x} if {\n\tx := time.now_ns()\n}\n',
      },
      { capabilities: CAPABILITIES_FILE },
    );
    const policy = await loadPolicy(wasm, {});
    const pinned = policy.evaluate({}, { nowNs: 1_704_067_200_000_000_000 }) as {
      a: number;
      b: number;
    };
    assert.equal(pinned.a, 1_704_067_200_000_000_000);
    assert.equal(pinned.b, pinned.a);
    const before = Date.now();
    const live = policy.evaluate({}) as { a: number; b: number };
    assert.equal(live.a, live.b);
    assert.ok(Math.abs(live.a / 1e6 - before) < 5_000, 'defaults to the wall clock');
  });

  void it('a module without the portcullis/decision entrypoint is rejected at load', async () => {
    const run = compileWasm({ 'p.rego': 'package portcullis\n\ndecision := true\nother := 1\n' });
    // Re-build with a different entrypoint by asking opa directly is overkill: corrupt the name instead.
    const bytes = Buffer.from(run);
    const at = bytes.indexOf('portcullis/decision');
    assert.ok(at > 0);
    bytes.write('portcullis/decisiox', at);
    await rejectsWith(loadPolicy(bytes, {}), 'missing_entrypoint');
  });

  void it('a module that needs a builtin nobody provides is rejected at load, not at evaluation', async () => {
    const wasm = compileWasm({
      'p.rego':
        'package portcullis\n\ndecision := {"allow": true, "ip": net.lookup_ip_addr("localhost")}\n',
    });
    await assert.rejects(
      loadPolicy(wasm, {}),
      (err: unknown) =>
        isPolicyError('missing_builtin')(err) &&
        (err as Error).message.includes('net.lookup_ip_addr'),
    );
  });

  void it('bytes that are not a WASM module are rejected with invalid_module', async () => {
    await rejectsWith(
      loadPolicy(new TextEncoder().encode('package portcullis'), {}),
      'invalid_module',
    );
  });

  void it('a conflict inside the policy is a typed evaluation error, not a thrown string', async () => {
    const wasm = compileWasm({
      'p.rego': 'package portcullis\n\ndecision := input.a\ndecision := input.b\n',
    });
    const policy = await loadPolicy(wasm, {});
    assert.throws(() => policy.evaluate({ a: 1, b: 2 }), isPolicyError('evaluation_aborted'));
    assert.equal(policy.evaluate({ a: 1, b: 1 }), 1, 'the instance stays usable after an error');
  });

  void it('an evaluation that needs more memory than the limit fails with memory_exhausted', async () => {
    const wasm = compileWasm({ 'p.rego': 'package portcullis\n\ndecision := count(input.s)\n' });
    const policy = await loadPolicy(wasm, {}, { initialMemoryPages: 2, maxMemoryPages: 4 });
    assert.throws(
      () => policy.evaluate({ s: 'x'.repeat(1024 * 1024) }),
      isPolicyError('memory_exhausted'),
    );
    assert.equal(
      policy.evaluate({ s: 'abc' }),
      3,
      'the instance stays usable after hitting the limit',
    );
  });

  void it('input that cannot be serialized is invalid_input', async () => {
    const policy = await loadPolicy(allowAdmins, {});
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => policy.evaluate(cyclic), isPolicyError('invalid_input'));
    assert.throws(() => policy.evaluate({ n: 1n }), isPolicyError('invalid_input'));
  });
});
