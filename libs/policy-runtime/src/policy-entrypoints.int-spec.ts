import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runOpa, withPolicyDir, type RegoModules } from '@portcullis/testing';
import { readBundleFile } from './bundle-archive.reader';
import { CAPABILITIES_FILE } from './capabilities';
import { PolicyEvaluationError } from './policy-evaluation.error';
import { DECISION_ENTRYPOINT, LOG_MASK_ENTRYPOINT, loadPolicy } from './policy.loader';

const DECISION = `package portcullis

decision := {"allow": input.subject in data.allowed, "reasons": []}
`;

const LOG_MASK = `package portcullis

log_mask := {
\t"erase": ["/input/request/body/password"],
\t"mask": [sprintf("/input/request/headers/%s", [h]) | some h in data.secret_headers],
}
`;

const DATA = { allowed: ['svc-a'], secret_headers: ['x-api-key'] };

/** `opa build -t wasm` with the given entrypoints, in that order, and the enforcer's capabilities. */
function build(modules: RegoModules, entrypoints: string[]): Uint8Array {
  return withPolicyDir(modules, DATA, (dir) => {
    const out = join(dir, 'bundle.tar.gz');
    const run = runOpa([
      'build',
      '-t',
      'wasm',
      ...entrypoints.flatMap((e) => ['-e', e]),
      '--capabilities',
      CAPABILITIES_FILE,
      '-o',
      out,
      join(dir, 'src'),
    ]);
    if (run.status !== 0) throw new Error(`opa build failed: ${run.stderr || run.stdout}`);
    const wasm = readBundleFile(readFileSync(out), '/policy.wasm');
    if (!wasm) throw new Error('opa build produced no /policy.wasm');
    return wasm;
  });
}

const isMissingEntrypoint = (err: unknown): boolean =>
  err instanceof PolicyEvaluationError && err.code === 'missing_entrypoint';

void describe('policies with several entrypoints (real opa build -t wasm, WASM loader)', () => {
  let withLogMask: Uint8Array;
  let withoutLogMask: Uint8Array;
  before(() => {
    withLogMask = build({ 'decision.rego': DECISION, 'log_mask.rego': LOG_MASK }, [
      DECISION_ENTRYPOINT,
      LOG_MASK_ENTRYPOINT,
    ]);
    withoutLogMask = build({ 'decision.rego': DECISION }, [DECISION_ENTRYPOINT]);
  });

  void it('a module built with log_mask lists both entrypoints and evaluates each by name', async () => {
    const policy = await loadPolicy(withLogMask, DATA);
    assert.deepEqual([...policy.entrypoints].sort(), [DECISION_ENTRYPOINT, LOG_MASK_ENTRYPOINT]);
    assert.deepEqual(policy.evaluate({ subject: 'svc-a' }), { allow: true, reasons: [] });
    assert.deepEqual(
      policy.evaluate({ subject: 'svc-a' }, { entrypoint: DECISION_ENTRYPOINT }),
      policy.evaluate({ subject: 'svc-a' }),
    );
    assert.deepEqual(policy.evaluate({}, { entrypoint: LOG_MASK_ENTRYPOINT }), {
      erase: ['/input/request/body/password'],
      mask: ['/input/request/headers/x-api-key'],
    });
  });

  void it('the default evaluation is portcullis/decision whatever order the entrypoints were built in', async () => {
    const reversed = build({ 'decision.rego': DECISION, 'log_mask.rego': LOG_MASK }, [
      LOG_MASK_ENTRYPOINT,
      DECISION_ENTRYPOINT,
    ]);
    const policy = await loadPolicy(reversed, DATA);
    assert.deepEqual(policy.evaluate({ subject: 'svc-b' }), { allow: false, reasons: [] });
    assert.ok(
      Object.hasOwn(policy.evaluate({}, { entrypoint: LOG_MASK_ENTRYPOINT }) as object, 'erase'),
    );
  });

  void it('a module built without log_mask says so, and evaluating log_mask is missing_entrypoint, not another rule', async () => {
    const policy = await loadPolicy(withoutLogMask, DATA);
    assert.deepEqual([...policy.entrypoints], [DECISION_ENTRYPOINT]);
    assert.equal(policy.entrypoints.has(LOG_MASK_ENTRYPOINT), false);
    assert.throws(
      () => policy.evaluate({ subject: 'svc-a' }, { entrypoint: LOG_MASK_ENTRYPOINT }),
      isMissingEntrypoint,
    );
    // Refused before evaluation: the instance was not reset and still decides.
    assert.equal(policy.instanceResets, 0);
    assert.deepEqual(policy.evaluate({ subject: 'svc-a' }), { allow: true, reasons: [] });
  });

  void it('an undefined log_mask rule evaluates to undefined, like an undefined decision', async () => {
    const conditional = build(
      {
        'decision.rego': DECISION,
        'log_mask.rego':
          'package portcullis\n\nlog_mask := {"erase": []} if input.subject == "svc-a"\n',
      },
      [DECISION_ENTRYPOINT, LOG_MASK_ENTRYPOINT],
    );
    const policy = await loadPolicy(conditional, DATA);
    assert.equal(
      policy.evaluate({ subject: 'svc-b' }, { entrypoint: LOG_MASK_ENTRYPOINT }),
      undefined,
    );
    assert.deepEqual(policy.evaluate({ subject: 'svc-a' }, { entrypoint: LOG_MASK_ENTRYPOINT }), {
      erase: [],
    });
  });

  void it('both entrypoints keep working on the fresh instance that replaces one after a failed evaluation', async () => {
    const conflicting = build(
      {
        'decision.rego':
          'package portcullis\n\ndecision := {"allow": true} if input.a\ndecision := {"allow": false} if input.b\n',
        'log_mask.rego': LOG_MASK,
      },
      [DECISION_ENTRYPOINT, LOG_MASK_ENTRYPOINT],
    );
    const policy = await loadPolicy(conflicting, DATA);
    assert.throws(
      () => policy.evaluate({ a: true, b: true }),
      (err: unknown) => err instanceof PolicyEvaluationError,
    );
    assert.equal(policy.instanceResets, 1);
    assert.deepEqual(policy.evaluate({ a: true }), { allow: true });
    assert.deepEqual(
      (policy.evaluate({}, { entrypoint: LOG_MASK_ENTRYPOINT }) as { mask: string[] }).mask,
      ['/input/request/headers/x-api-key'],
    );
  });
});
