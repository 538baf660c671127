import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@portcullis/testing';
import { Stack, type HttpResult } from './support/stack';
import { EXAMPLE_APPROVAL, examplePolicy } from './support/policies';

/**
 * A team package adding one more approval requirement on `DELETE /crm{path}`; the example policy
 * composes it with its own (the strictest count and the shortest TTL win).
 */
function extraApproval(
  pkg: string,
  description: string,
  path: string,
  requirement: { reason: string; ttl_seconds?: number; min_approvals?: number },
): string {
  const rule = { ...requirement, approvers: ['group:crm-approvers'] };
  return `# METADATA
# title: e2e ${pkg}
# description: ${description}
package portcullis.rules.${pkg}

import rego.v1

approval contains ${JSON.stringify(rule)} if {
	input.connection.name == "crm"
	input.request.method == "DELETE"
	input.request.path == "${path}"
}
`;
}

/** Deleting customer 9 needs an approval that expires after 2 seconds. */
const EXPIRY_RULES = extraApproval(
  'e2e_expiry',
  'Deleting customer 9 needs an approval that expires after 2 seconds.',
  '/customers/9',
  { reason: 'expiry probe', ttl_seconds: 2 },
);

/** A stricter requirement on one path, published after an approval was granted there. */
const TIGHTENED_RULES = extraApproval(
  'e2e_tightened',
  'Deleting customer 1 needs two approvals once this package is active.',
  '/customers/1',
  { reason: 'two approvers for customer 1', min_approvals: 2 },
);

/** A valid IBAN: no detector of the example policy's mask names it, the approvers' mask does. */
const IBAN = 'NL91ABNA0417164300';

const WEBHOOK_SECRET = `e2e-webhook-secret-${process.pid}`;

interface Pending {
  approval_id: string;
  status: string;
  expires_at: string;
  status_url: string;
}

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('just-in-time approval (example policy: deleting one customer needs a crm-approver)', () => {
  let stack: Stack;
  let webhook: Server;
  const deliveries: Delivery[] = [];
  let admin: string;
  let approver: string;
  let outsider: string;

  before(async () => {
    webhook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
    stack = await Stack.start({
      label: 'approvals',
      controlPlaneEnv: { APPROVAL_WEBHOOK_URL: hookUrl, APPROVAL_WEBHOOK_SECRET: WEBHOOK_SECRET },
    });
    const version = await stack.publish({ ...examplePolicy(), 'e2e/expiry.rego': EXPIRY_RULES });
    await stack.waitForEnforcerVersion(stack.enforcer, version);
    admin = await stack.token('fn-cleanup', { roles: ['crm-admin'] });
    approver = await stack.token('alice', {
      portcullis_roles: ['approver'],
      groups: ['crm-approvers'],
    });
    outsider = await stack.token('mallory', { portcullis_roles: ['approver'], groups: ['sales'] });
  });
  after(async () => {
    await stack?.stop();
    webhook?.closeAllConnections();
    await new Promise((resolve) => webhook?.close(resolve));
  });

  const del = (
    id: string,
    opts: { token?: string; headers?: Record<string, string>; body?: string } = {},
  ) => stack.proxy('DELETE', `/crm/customers/${id}`, { token: admin, ...opts });

  const escalate = async (id: string): Promise<Pending> => {
    const res = await del(id);
    assert.equal(res.status, 202, res.text);
    const body = res.body as Pending & { reasons: string[] };
    assert.equal(body.status, 'pending');
    assert.ok(res.headers.get('retry-after'), 'Retry-After is set');
    assert.ok(
      body.reasons.some((r) => r.includes(EXAMPLE_APPROVAL.reason)),
      res.text,
    );
    return body;
  };

  const act = (id: string, verb: 'approve' | 'deny', token: string, comment = 'e2e') =>
    stack.api('POST', `/v1/approvals/${id}/${verb}`, { comment }, token);

  it('a risky call answers 202 with an approval id, expiry and status URL, and is not forwarded', async () => {
    const before = await fetch(`${stack.upstream.url}/customers/2`);
    assert.equal(before.status, 200);
    const pending = await escalate('2');
    assert.match(pending.approval_id, /^[0-9a-f-]{36}$/);
    assert.ok(Date.parse(pending.expires_at) > Date.now());
    assert.ok(pending.status_url.endsWith(`/v1/approvals/${pending.approval_id}/status`));
    assert.equal((await fetch(`${stack.upstream.url}/customers/2`)).status, 200, 'still there');
    const list = await stack.api('GET', '/v1/approvals?status=pending', undefined, approver);
    assert.equal(list.status, 200, list.text);
    assert.ok(JSON.stringify(list.body).includes(pending.approval_id));
  });

  it('approved by another identity, the retry runs exactly once and a second retry is refused', async () => {
    const pending = await escalate('3');
    const ok = await act(pending.approval_id, 'approve', approver);
    assert.equal(ok.status, 200, ok.text);
    const first = await del('3', { headers: { 'portcullis-approval': pending.approval_id } });
    assert.equal(first.status, 200, first.text);
    assert.equal((await fetch(`${stack.upstream.url}/customers/3`)).status, 404, 'deleted');
    const second = await del('3', { headers: { 'portcullis-approval': pending.approval_id } });
    assert.equal(second.status, 403, second.text);
    assert.equal((second.body as { error: { code: string } }).error.code, 'approval_invalid');
    const state = await stack.api(
      'GET',
      `/v1/approvals/${pending.approval_id}`,
      undefined,
      approver,
    );
    assert.equal((state.body as { status: string }).status, 'consumed');
  });

  it('the decision record of the call links the approval id', async () => {
    const pending = await escalate('4');
    await act(pending.approval_id, 'approve', approver);
    const res = await del('4', { headers: { 'portcullis-approval': pending.approval_id } });
    assert.equal(res.status, 200, res.text);
    const id = res.headers.get('x-portcullis-decision-id') ?? '';
    const [record] = await stack
      .waitForDecisions([id])
      .then((all) => all.filter((d) => d.decision_id === id));
    assert.deepEqual(record.approval, { id: pending.approval_id, status: 'consumed' });
  });

  it('a held call proceeds when the approval arrives within the requested wait', async () => {
    const held = del('5', { headers: { prefer: 'wait=20' } });
    let approvalId = '';
    await waitFor(
      async () => {
        const list = await stack.api('GET', '/v1/approvals?status=pending', undefined, approver);
        const items = (list.body as { items: { approval_id: string; request: { path: string } }[] })
          .items;
        approvalId = items.find((i) => i.request.path === '/customers/5')?.approval_id ?? '';
        return approvalId !== '';
      },
      10_000,
      'the held call to appear as pending',
    );
    assert.equal((await act(approvalId, 'approve', approver)).status, 200);
    const res: HttpResult = await held;
    assert.equal(res.status, 200, res.text);
    assert.equal((await fetch(`${stack.upstream.url}/customers/5`)).status, 404, 'deleted');
  });

  it('self-approval is refused, even for a requester holding the approver role', async () => {
    const pending = await escalate('6');
    const self = await stack.token('fn-cleanup', {
      portcullis_roles: ['approver'],
      groups: ['crm-approvers'],
    });
    const res = await act(pending.approval_id, 'approve', self);
    assert.equal(res.status, 403, res.text);
  });

  it('an approver outside the named groups is refused', async () => {
    const pending = await escalate('6');
    const res = await act(pending.approval_id, 'approve', outsider);
    assert.equal(res.status, 403, res.text);
  });

  it('a different body or a different caller cannot use the approval', async () => {
    const pending = await escalate('7');
    await act(pending.approval_id, 'approve', approver);
    const withBody = await del('7', {
      headers: { 'portcullis-approval': pending.approval_id, 'content-type': 'application/json' },
      body: '{"reason":"different"}',
    });
    assert.equal(withBody.status, 403, withBody.text);
    const otherCaller = await stack.token('fn-other', { roles: ['crm-admin'] });
    const other = await del('7', {
      token: otherCaller,
      headers: { 'portcullis-approval': pending.approval_id },
    });
    assert.equal(other.status, 403, other.text);
    const rightful = await del('7', { headers: { 'portcullis-approval': pending.approval_id } });
    assert.equal(rightful.status, 200, 'the refusals did not use it up');
  });

  it('an expired approval is refused', async () => {
    const pending = await escalate('9');
    await act(pending.approval_id, 'approve', approver);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const res = await del('9', { headers: { 'portcullis-approval': pending.approval_id } });
    assert.equal(res.status, 403, res.text);
    assert.match(res.text, /expired/);
  });

  it('two concurrent retries with one approval: exactly one succeeds', async () => {
    const pending = await escalate('8');
    await act(pending.approval_id, 'approve', approver);
    const second = await stack.startEnforcer();
    await stack.waitForEnforcerVersion(
      second,
      (await stack.enforcerStatus(stack.enforcer.id))?.active_version ?? 0,
    );
    const headers = { 'portcullis-approval': pending.approval_id };
    const results = await Promise.all([
      del('8', { headers }),
      stack.proxy('DELETE', '/crm/customers/8', { token: admin, headers, enforcer: second }),
      del('8', { headers }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses.filter((s) => s === 200).length, 1, JSON.stringify(statuses));
    assert.ok(
      statuses.every((s) => s === 200 || s === 403),
      JSON.stringify(statuses),
    );
    assert.equal((await fetch(`${stack.upstream.url}/customers/8`)).status, 404, 'deleted');
  });

  it('retrying a still-pending call without the approval header reuses its request', async () => {
    const first = await escalate('11');
    const second = await escalate('11');
    assert.equal(second.approval_id, first.approval_id);
  });

  it('approvers see the escalated body masked by every detector, not only those the decision names', async () => {
    const res = await del('12', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: `refund to ${IBAN}` }),
    });
    assert.equal(res.status, 202, res.text);
    const { approval_id: id } = res.body as Pending;
    const detail = await stack.api('GET', `/v1/approvals/${id}`, undefined, approver);
    assert.equal(detail.status, 200, detail.text);
    const body = JSON.stringify((detail.body as { request: { body: unknown } }).request.body);
    assert.ok(!body.includes(IBAN), body);
    assert.match(body, /refund to /);
    const hidden = await stack.api('GET', `/v1/approvals/${id}`, undefined, outsider);
    assert.equal(hidden.status, 404, 'an approver the request does not name cannot read it');
  });

  it('an approval granted before the policy asked for more approvers is refused', async () => {
    const pending = await escalate('1');
    assert.equal((await act(pending.approval_id, 'approve', approver)).status, 200);
    const version = await stack.publish({
      ...examplePolicy(),
      'e2e/expiry.rego': EXPIRY_RULES,
      'e2e/tightened.rego': TIGHTENED_RULES,
    });
    await stack.waitForEnforcerVersion(stack.enforcer, version);
    const res = await del('1', { headers: { 'portcullis-approval': pending.approval_id } });
    assert.equal(res.status, 403, res.text);
    assert.equal((res.body as { error: { code: string } }).error.code, 'approval_invalid');
    assert.match(res.text, /requirement_changed/);
    assert.equal((await fetch(`${stack.upstream.url}/customers/1`)).status, 200, 'not deleted');
  });

  it('the webhook was told of created and resolved requests, each with a valid signature', async () => {
    await waitFor(async () => deliveries.length >= 2, 15_000, 'webhook deliveries');
    for (const d of deliveries) {
      const header = String(d.headers['portcullis-signature'] ?? '');
      const t = /t=(\d+)/.exec(header)?.[1] ?? '';
      const v1 = /v1=([0-9a-f]{64})/.exec(header)?.[1] ?? '';
      const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${d.body}`).digest('hex');
      assert.equal(v1, expected, `signature of ${d.body.slice(0, 80)}`);
    }
    const events = deliveries.map((d) => (JSON.parse(d.body) as { event: string }).event);
    assert.ok(
      events.some((e) => /created|requested/.test(e)),
      events.join(','),
    );
    assert.ok(
      events.some((e) => /approved|consumed|resolved/.test(e)),
      events.join(','),
    );
  });

  it('with the control plane stopped, a risky call fails closed and is never forwarded', async () => {
    await stack.haltControlPlane();
    try {
      const res = await del('10');
      assert.equal(res.status, 503, res.text);
      assert.equal((res.body as { error: { code: string } }).error.code, 'approval_unavailable');
      assert.equal((await fetch(`${stack.upstream.url}/customers/10`)).status, 200, 'not deleted');
    } finally {
      await stack.resumeControlPlane();
    }
  });
});
