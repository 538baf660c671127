import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CAPABILITIES_FILE } from './capabilities';
import { compileRego } from '@portcullis/testing';
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
    allowAdmins = compileRego({ 'policy.rego': ALLOW_ADMINS }, { capabilities: CAPABILITIES_FILE });
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
    const wasm = compileRego({
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
    const wasm = compileRego(
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
    const run = compileRego({ 'p.rego': 'package portcullis\n\ndecision := true\nother := 1\n' });
    // Re-build with a different entrypoint by asking opa directly is overkill: corrupt the name instead.
    const bytes = Buffer.from(run);
    const at = bytes.indexOf('portcullis/decision');
    assert.ok(at > 0);
    bytes.write('portcullis/decisiox', at);
    await rejectsWith(loadPolicy(bytes, {}), 'missing_entrypoint');
  });

  void it('a module that needs a builtin nobody provides is rejected at load, not at evaluation', async () => {
    const wasm = compileRego({
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
    const wasm = compileRego({
      'p.rego': 'package portcullis\n\ndecision := input.a\ndecision := input.b\n',
    });
    const policy = await loadPolicy(wasm, {});
    assert.throws(() => policy.evaluate({ a: 1, b: 2 }), isPolicyError('evaluation_aborted'));
    assert.equal(policy.evaluate({ a: 1, b: 1 }), 1, 'the instance stays usable after an error');
  });

  void it('an evaluation that needs more memory than the limit fails with memory_exhausted', async () => {
    const wasm = compileRego({ 'p.rego': 'package portcullis\n\ndecision := count(input.s)\n' });
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

  void it('an instance answers like a fresh one after thousands of aborted evaluations', async () => {
    // Each abort unwinds past the module's stack-pointer restore; before instances were replaced
    // on failure, the 512th abort of this policy broke every later evaluation.
    const wasm = compileRego({
      'p.rego': `package portcullis

f(x) := y if { y := g(x) }
g(x) := 1 if x.a
g(x) := 2 if x.b
decision := {"allow": true, "v": [f(z) | some z in input.items], "team": data.team}
`,
    });
    const policy = await loadPolicy(wasm, { team: 'crm' });
    const conflicting = { items: [{ a: true }, { a: true, b: true }] };
    for (let i = 0; i < 2000; i++) {
      assert.throws(() => policy.evaluate(conflicting), isPolicyError('evaluation_aborted'));
    }
    const good = { items: [{ a: true }, { b: true }] };
    const fresh = await loadPolicy(wasm, { team: 'crm' });
    assert.deepEqual(policy.evaluate(good), fresh.evaluate(good));
    assert.deepEqual(policy.evaluate(good), { allow: true, v: [1, 2], team: 'crm' });
    assert.equal(policy.instanceResets, 2000);
  });

  void it('an allocation bomb fails with memory_exhausted and its memory is given back every time', async () => {
    const wasm = compileRego({
      'p.rego': `package portcullis

decision := {"allow": count(big) > 0} if input.bomb
decision := {"allow": true, "echo": input.x} if not input.bomb
big := [[i, "padding padding padding"] | some i in numbers.range(1, input.n)]
`,
    });
    const policy = await loadPolicy(wasm, {}, { initialMemoryPages: 32, maxMemoryPages: 512 });
    const initialBytes = policy.memoryBytes;
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 30; i++) {
      assert.throws(
        () => policy.evaluate({ bomb: true, n: 100_000_000 }),
        isPolicyError('memory_exhausted'),
      );
      assert.equal(policy.memoryBytes, initialBytes, 'the grown memory was released');
      assert.deepEqual(policy.evaluate({ x: i }), { allow: true, echo: i });
    }
    // 30 bombs of 32 MiB each: if instances were kept alive this would be ~1 GiB.
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(grownMiB < 256, `process grew by ${grownMiB.toFixed(0)} MiB over 30 bombs`);
  });

  void it('policy data over maxDataBytes is refused at once with data_too_large', async () => {
    const data = { blob: 'x'.repeat(2 * 1024 * 1024) };
    const started = Date.now();
    await assert.rejects(
      loadPolicy(allowAdmins, data, { maxDataBytes: 1024 * 1024 }),
      (err: unknown) =>
        isPolicyError('data_too_large')(err) && /2097163 bytes.*at most 1048576/.test(String(err)),
    );
    assert.ok(Date.now() - started < 1000);
    const fits = await loadPolicy(allowAdmins, { team: 'big', blob: data.blob });
    assert.deepEqual(fits.evaluate({ roles: ['admin'] }), { allow: true, reasons: ['team big'] });
  });

  void it('policy data that does not fit under the memory limit fails at load saying so', async () => {
    const users = Array.from({ length: 20_000 }, (_, i) => ({ name: `user-${i}`, tags: ['a'] }));
    await assert.rejects(
      loadPolicy(allowAdmins, { users }, { maxMemoryPages: 64 }),
      (err: unknown) =>
        isPolicyError('memory_exhausted')(err) &&
        /policy data \(\d+ bytes of JSON\) does not fit in the WASM memory limit of 4 MiB/.test(
          (err as Error).message,
        ),
    );
  });

  void it('deeply nested and very large inputs fail typed or evaluate, and the instance stays correct', async () => {
    const wasm = compileRego({
      'p.rego':
        'package portcullis\n\ndecision := {"allow": true, "d": input.d, "n": count(input.s)}\n',
    });
    const policy = await loadPolicy(wasm, {});
    let deep: unknown = 1;
    for (let i = 0; i < 2000; i++) deep = [deep];
    // Compared as text: assert.deepEqual itself recurses too deep for this value.
    const nested = policy.evaluate({ d: deep, s: '' }) as { d: unknown; n: number };
    assert.equal(JSON.stringify(nested.d), JSON.stringify(deep));
    assert.equal(nested.n, 0);
    let tooDeep: unknown = 1;
    for (let i = 0; i < 200_000; i++) tooDeep = [tooDeep];
    assert.throws(() => policy.evaluate({ d: tooDeep, s: '' }), isPolicyError('invalid_input'));
    assert.throws(
      () => policy.evaluate({ d: 0, s: 'x'.repeat(200 * 1024 * 1024) }),
      isPolicyError('memory_exhausted'),
    );
    assert.deepEqual(policy.evaluate({ d: 2, s: 'abc' }), { allow: true, d: 2, n: 3 });
  });
});
