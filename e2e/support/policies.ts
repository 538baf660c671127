import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '@portcullis/testing';

// Bundles the e2e specs and the benchmark upload. They define `portcullis.decision` themselves
// (an uploaded bundle may), so the specs test the pipeline, not the example policy in rego/;
// `examplePolicy()` is the exception, for specs about the example's guards and obligations.

/** Reason the policy gives when a reader tries to delete; specs assert it reaches the caller. */
export const DELETE_DENIED_REASON = 'deleting customers requires the crm-admin role';
/** Reason the "reads paused" version gives for every call. */
export const READS_PAUSED_REASON = 'reads are paused by the e2e v2 policy';

const READER_POLICY = `# METADATA
# title: e2e customers policy
# description: crm-reader may GET; crm-admin may do anything; everything else is denied with a reason.
package portcullis

import rego.v1

decision := {"allow": true, "reasons": []} if {
	_allowed
} else := {"allow": false, "reasons": _reasons}

_roles := object.get(input, ["identity", "claims", "roles"], [])

_allowed if {
	input.request.method in {"GET", "HEAD"}
	"crm-reader" in _roles
}

_allowed if "crm-admin" in _roles

_reasons contains "${DELETE_DENIED_REASON}" if input.request.method == "DELETE"

_reasons contains "no rule allows this call" if input.request.method != "DELETE"
`;

const READER_POLICY_TEST = `package portcullis_test

import rego.v1

import data.portcullis

test_reader_may_list if {
	portcullis.decision.allow with input as {"identity": {"claims": {"roles": ["crm-reader"]}}, "request": {"method": "GET", "path": "/customers"}}
}

test_reader_may_not_delete if {
	d := portcullis.decision with input as {"identity": {"claims": {"roles": ["crm-reader"]}}, "request": {"method": "DELETE", "path": "/customers/1"}}
	not d.allow
	"${DELETE_DENIED_REASON}" in d.reasons
}
`;

/** Version "v1": readers may read, deletes need crm-admin. */
export function readerPolicy(): Record<string, string> {
  return { 'e2e/customers.rego': READER_POLICY, 'e2e/customers_test.rego': READER_POLICY_TEST };
}

/** Version "v2": the same package, but every call is denied with {@link READS_PAUSED_REASON}. */
export function readsPausedPolicy(): Record<string, string> {
  return {
    'e2e/customers.rego': `package portcullis

import rego.v1

decision := {"allow": false, "reasons": ["${READS_PAUSED_REASON}"]}
`,
    'e2e/customers_test.rego': `package portcullis_test

import rego.v1

import data.portcullis

test_everything_is_denied if {
	not portcullis.decision.allow with input as {"identity": {"claims": {"roles": ["crm-reader"]}}, "request": {"method": "GET"}}
}
`,
  };
}

/** Bundles the control plane must reject, with where OPA reports the problem. */
export const REJECTED_BUNDLES: {
  name: string;
  modules: Record<string, string>;
  expect: { code?: RegExp; file: string; row: number; message: RegExp };
}[] = [
  {
    name: 'a policy with a syntax error',
    modules: {
      'broken/syntax.rego': `package portcullis

import rego.v1

decision := {"allow": true, "reasons": []} if {
	input.request.method == == "GET"
}
`,
    },
    expect: { code: /parse/, file: 'broken/syntax.rego', row: 6, message: /unexpected/ },
  },
  {
    name: 'a policy calling a builtin the enforcer cannot evaluate (http.send)',
    modules: {
      'broken/http_send.rego': `package portcullis

import rego.v1

decision := {"allow": resp.status_code == 200, "reasons": []} if {
	resp := http.send({"method": "GET", "url": "http://127.0.0.1:1/"})
}
`,
    },
    expect: { file: 'broken/http_send.rego', row: 6, message: /http\.send/ },
  },
  {
    name: 'a policy whose own opa tests fail',
    modules: {
      'broken/policy.rego': `package portcullis

import rego.v1

decision := {"allow": false, "reasons": ["nobody"]}
`,
      'broken/policy_test.rego': `package portcullis_test

import rego.v1

import data.portcullis

test_reader_may_list if {
	portcullis.decision.allow with input as {"request": {"method": "GET"}}
}
`,
    },
    expect: { file: 'broken/policy_test.rego', row: 7, message: /test_reader_may_list|fail/i },
  },
];

/**
 * The repository's own example policy: every `.rego` file under rego/ (the entrypoint, the
 * helper library, rules/crm.rego and all their tests), keyed by path relative to rego/ as the dev
 * stack uploads it. It guards, masks and records calls on connection `crm`; see
 * docs/policy-authors.md#the-example-policy.
 */
export function examplePolicy(): Record<string, string> {
  const root = join(REPO_ROOT, 'rego');
  const modules: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.rego')) modules[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return modules;
}

/** Reasons the example policy gives on connection `crm` (as the caller sees them, prefixed). */
export const EXAMPLE_POLICY_REASONS = {
  deleteCollection:
    'crm: deleting the whole customers collection is never allowed; delete customers one at a time',
  exportWithoutLimit:
    'crm: an export must say how many rows it wants: add limit=N with N at most 1000',
  exportTooLarge: 'crm: an export may return at most 1000 rows',
  exportBadLimit: "crm: an export's limit must be a whole number from 1 to 1000",
  exportTwoLimits: 'crm: an export takes exactly one limit parameter',
  cardInBody: 'crm: request bodies must not carry payment card numbers',
  tooManyNumbers: 'crm: the request body has too many numbers to check for payment card numbers',
} as const;

/**
 * Token claims that steer the example policy's masking: a `scope` containing
 * {@link EXAMPLE_PII_READ_SCOPE} sees customers unmasked; otherwise the `mask_strategy` claim (or
 * the connection label of the same name; the stricter wins) picks redact, partial or hash.
 */
export const EXAMPLE_PII_READ_SCOPE = 'pii:read';
export const EXAMPLE_MASK_STRATEGY_CLAIM = 'mask_strategy';

/**
 * The approval the example policy requires before a `crm-admin` deletes one customer
 * (`DELETE /crm/customers/{id}`): the call is escalated (`allow: false` with this obligation),
 * never forwarded directly. `reason` is also the decision's only reason. A `crm-reader`'s delete
 * is denied outright (`crm: deleting a customer requires role crm-admin`), not escalated.
 */
export const EXAMPLE_APPROVAL = {
  reason: 'crm: deleting a customer needs the approval of a crm-approvers member',
  approvers: ['group:crm-approvers'],
  minApprovals: 1,
  ttlSeconds: 900,
} as const;
