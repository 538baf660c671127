import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseApprovalObligation } from '@portcullis/contracts';
import { REPO_ROOT, compileRego, type RegoModules } from '@portcullis/testing';
import { CAPABILITIES_FILE } from './capabilities';
import { opaEval } from './opa-cli.test-support';
import { loadPolicy, type LoadedPolicy } from './policy.loader';

const REGO_DIR = join(REPO_ROOT, 'rego');

/** Every file under rego/, tests included: the dev stack uploads the directory as one bundle. */
function regoModules(dir = REGO_DIR, out: RegoModules = {}): RegoModules {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) regoModules(p, out);
    else if (name.endsWith('.rego')) out[relative(REGO_DIR, p)] = readFileSync(p, 'utf8');
  }
  return out;
}

function call(method: string, path: string, roles: string[]): unknown {
  return {
    identity: {
      subject: 'svc-a',
      issuer: 'http://127.0.0.1:8900',
      audience: ['portcullis-enforcer'],
      claims: { roles },
    },
    connection: { name: 'crm', type: 'http', labels: {} },
    request: { method, path, query: {}, headers: { accept: 'application/json' }, body: null },
    context: {
      time: '2024-06-14T11:00:00Z',
      time_ns: 1718362800000000000,
      enforcer_id: 'dev',
      source_ip: '127.0.0.1',
      request_id: 'r-1',
    },
  };
}

void describe('rego/ library and the crm example, compiled as the dev stack uploads them', () => {
  const modules = regoModules();
  let policy: LoadedPolicy;
  before(async () => {
    policy = await loadPolicy(compileRego(modules, { capabilities: CAPABILITIES_FILE }), {});
  });

  void it('a crm-reader without pii:read may GET a customer, with its PII masked', () => {
    assert.deepEqual(policy.evaluate(call('GET', '/customers/7', ['crm-reader'])), {
      allow: true,
      reasons: ['crm: reading customers is allowed for crm-reader'],
      mask: {
        fields: ['$..card_number', '$..ssn'],
        detectors: ['credit_card', 'email', 'ssn'],
        strategy: 'redact',
      },
    });
  });

  void it('a crm-reader may not DELETE, and the reason says which role is missing', () => {
    assert.deepEqual(policy.evaluate(call('DELETE', '/customers/7', ['crm-reader'])), {
      allow: false,
      reasons: ['crm: deleting a customer requires role crm-admin'],
    });
  });

  void it('deleting one customer as crm-admin is escalated with an approval the enforcer accepts', () => {
    const approval = {
      required: true,
      reason: 'crm: deleting a customer needs the approval of a crm-approvers member',
      approvers: ['group:crm-approvers'],
      min_approvals: 1,
      ttl_seconds: 900,
    };
    const decision = policy.evaluate(call('DELETE', '/customers/7', ['crm-admin']));
    assert.deepEqual(decision, {
      allow: false,
      reasons: [approval.reason],
      approval,
      mask: {
        fields: ['$..card_number', '$..ssn'],
        detectors: ['credit_card', 'email', 'ssn'],
        strategy: 'redact',
      },
      record: { request_body: true, response_body: true },
    });
    const parsed = parseApprovalObligation((decision as { approval?: unknown }).approval);
    assert.deepEqual(parsed, { ok: true, approval });
  });

  const samples: [string, string, string[]][] = [
    ['GET', '/customers', ['crm-reader']],
    ['DELETE', '/customers/7', ['crm-admin']],
    ['DELETE', '/customers/7', ['crm-reader', 'crm-admin']],
    ['GET', '/customers', []],
    ['POST', '/customers', ['crm-admin']],
    ['PUT', '/echo/x', ['crm-reader']],
    ['GET', '/customers/7/cards', ['crm-reader']],
  ];
  for (const [method, path, roles] of samples) {
    void it(`WASM and opa eval agree on ${method} ${path} for roles [${roles.join(', ')}]`, () => {
      const input = call(method, path, roles);
      const expected = opaEval(modules, input);
      assert.notEqual(expected, undefined);
      assert.deepEqual(policy.evaluate(input), expected);
    });
  }
});
