import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DECISION_ENTRYPOINT, LOG_MASK_ENTRYPOINT, loadPolicy } from '@portcullis/policy-runtime';
import { loadControlPlaneConfig } from '../config/control-plane.config';
import { BundleRejectedError } from '../errors/domain.error';
import { OpaCompilerRepository } from './opa-compiler.repository';

const DECISION = `package portcullis

decision := {"allow": input.subject in data.allowed, "reasons": []}
`;
const DECISION_TEST = `package portcullis_test

import data.portcullis

test_listed if portcullis.decision.allow with input as {"subject": "svc-a"} with data.allowed as ["svc-a"]
`;
const LOG_MASK = `package portcullis

log_mask := {"erase": ["/input/request/body"], "mask": ["/input/identity/claims/email"]}
`;
const LOG_MASK_TEST = `package portcullis_test

import data.portcullis

test_body_erased if "/input/request/body" in portcullis.log_mask.erase
`;

function compiler(): OpaCompilerRepository {
  // Only the opa section matters here; the rest is whatever validates.
  return new OpaCompilerRepository(
    loadControlPlaneConfig({ AUTH_ISSUER: 'http://127.0.0.1:1', OPA_BIN: process.env.OPA_BIN }),
  );
}

void describe('OpaCompilerRepository entrypoints (real opa)', () => {
  void it('a policy that defines log_mask is built with both entrypoints, and the WASM evaluates each', async () => {
    const built = await compiler().compile(
      {
        'portcullis/decision.rego': DECISION,
        'portcullis/decision_test.rego': DECISION_TEST,
        'portcullis/log_mask.rego': LOG_MASK,
        'portcullis/log_mask_test.rego': LOG_MASK_TEST,
      },
      { allowed: ['svc-a'] },
    );
    assert.deepEqual(built.entrypoints, [DECISION_ENTRYPOINT, LOG_MASK_ENTRYPOINT]);
    const policy = await loadPolicy(built.wasm, JSON.parse(built.data.toString('utf8')));
    assert.equal(policy.entrypoints.has(LOG_MASK_ENTRYPOINT), true);
    assert.deepEqual(policy.evaluate({ subject: 'svc-a' }), { allow: true, reasons: [] });
    assert.deepEqual(policy.evaluate({}, { entrypoint: LOG_MASK_ENTRYPOINT }), {
      erase: ['/input/request/body'],
      mask: ['/input/identity/claims/email'],
    });
  });

  void it('a policy without log_mask still compiles, with the decision entrypoint only', async () => {
    const built = await compiler().compile(
      {
        'portcullis/decision.rego': DECISION,
        'portcullis/decision_test.rego': DECISION_TEST,
      },
      { allowed: ['svc-a'] },
    );
    assert.deepEqual(built.entrypoints, [DECISION_ENTRYPOINT]);
    const policy = await loadPolicy(built.wasm, JSON.parse(built.data.toString('utf8')));
    // opa also exports the test rules of the upload as entrypoints; only ours matter here.
    assert.equal(policy.entrypoints.has(DECISION_ENTRYPOINT), true);
    assert.equal(policy.entrypoints.has(LOG_MASK_ENTRYPOINT), false);
    assert.deepEqual(policy.evaluate({ subject: 'svc-b' }), { allow: false, reasons: [] });
  });

  void it('a policy without a decision is rejected naming portcullis.decision, whether or not it defines log_mask', async () => {
    const uploads: Record<string, string>[] = [
      { 'portcullis/other.rego': 'package portcullis\n\nother := true\n' },
      { 'portcullis/log_mask.rego': LOG_MASK },
    ];
    for (const modules of uploads) {
      await assert.rejects(compiler().compile(modules, {}), (err: unknown) => {
        assert.ok(err instanceof BundleRejectedError);
        assert.equal(err.stage, 'build');
        assert.equal(err.problems.length, 1);
        assert.equal(err.problems[0].code, 'entrypoint_undefined');
        assert.match(err.problems[0].message, /portcullis\.decision/);
        assert.doesNotMatch(err.problems[0].message, /log_mask/);
        return true;
      });
    }
  });
});
