import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  approvalRequirementDigest,
  type ApprovalConsumeRequest,
  type ApprovalCreateRequest,
  type ApprovalReply,
  type ApprovalState,
} from '@portcullis/contracts';
import { Masker, parseMaskObligation } from '@portcullis/masking';
import { Logger } from '@portcullis/platform';
import type { Decision } from '../pipeline/decision.types';
import { ApprovalUnavailableError, type ApprovalClient } from './approval.client';
import { ApprovalEscalator, type EscalationRequest } from './approval.escalator';

const ID = '11111111-2222-4333-8444-555555555555';
const quiet = new Logger('test', 'error', () => undefined);

function state(status: ApprovalState['status']): ApprovalState {
  return {
    approval_id: ID,
    status,
    expires_at: '2026-11-29T06:00:00.000Z',
    approvals: 0,
    min_approvals: 1,
  };
}

/** A control plane stand-in: records what it was asked and answers from a script. */
class ScriptedClient {
  created: ApprovalCreateRequest[] = [];
  consumed: ApprovalConsumeRequest[] = [];
  waited: number[] = [];
  constructor(
    private readonly script: {
      create?: () => ApprovalReply;
      consume?: () => ApprovalReply;
      settle?: () => ApprovalState | null;
    },
  ) {}
  create(req: ApprovalCreateRequest): Promise<ApprovalReply> {
    this.created.push(req);
    return Promise.resolve(
      (this.script.create ?? (() => ({ ok: true, approval: state('pending') })))(),
    );
  }
  consume(req: ApprovalConsumeRequest): Promise<ApprovalReply> {
    this.consumed.push(req);
    return Promise.resolve(
      (this.script.consume ?? (() => ({ ok: true, approval: state('consumed') })))(),
    );
  }
  waitWhilePending(_id: string, waitMs: number): Promise<ApprovalState | null> {
    this.waited.push(waitMs);
    return Promise.resolve((this.script.settle ?? (() => null))());
  }
}

function escalation(over: Partial<EscalationRequest> = {}): EscalationRequest {
  const decision = {
    meta: { decisionId: '00000000-0000-4000-8000-000000000009' },
    bundle: { name: 'default', version: 4, digest: null },
    obligations: {
      mask: null,
      record: { request_body: false, response_body: false },
      approval: null,
    },
    input: {
      identity: { subject: 'fn-cleanup', issuer: 'http://iss', audience: [], claims: {} },
    },
  } as unknown as Decision;
  return {
    decision,
    approval: {
      required: true,
      reason: 'r',
      approvers: ['group:dba'],
      min_approvals: 1,
      ttl_seconds: 60,
    },
    connection: 'crm',
    fingerprint: 'f'.repeat(64),
    request: {
      method: 'DELETE',
      path: '/customers/7',
      query: null,
      body: { card: '4111 1111 1111 1111' },
    },
    presentedId: null,
    waitMs: 0,
    ...over,
  };
}

function escalator(client: ScriptedClient): ApprovalEscalator {
  return new ApprovalEscalator(
    client as unknown as ApprovalClient,
    new Masker(Buffer.alloc(32, 9)),
    'e1',
    quiet,
  );
}

describe('approval escalation (enforcer side)', () => {
  it('a new escalation creates a request and answers pending without holding by default', async () => {
    const client = new ScriptedClient({});
    const out = await escalator(client).escalate(escalation());
    assert.equal(out.kind, 'pending');
    assert.equal(client.created.length, 1);
    assert.equal(client.waited.length, 0);
    assert.equal(client.created[0].requester.subject, 'fn-cleanup');
    assert.equal(client.created[0].fingerprint, 'f'.repeat(64));
  });

  it('the body approvers see is masked even when the decision names no mask', async () => {
    const client = new ScriptedClient({});
    await escalator(client).escalate(escalation());
    assert.ok(!JSON.stringify(client.created[0].request.body).includes('4111 1111 1111 1111'));
  });

  it('the body approvers see is masked by every detector even when the decision names only field paths', async () => {
    const spec = parseMaskObligation({ fields: ['$.note'] });
    assert.ok(spec.ok);
    const req = escalation({
      request: {
        method: 'DELETE',
        path: '/customers/7',
        query: null,
        body: { card: '4111 1111 1111 1111', email: 'ann@example.com', note: 'internal' },
      },
    });
    (req.decision.obligations as { mask: unknown }).mask = spec.spec;
    const client = new ScriptedClient({});
    await escalator(client).escalate(req);
    const shown = JSON.stringify(client.created[0].request.body);
    assert.ok(!shown.includes('4111 1111 1111 1111'), shown);
    assert.ok(!shown.includes('ann@example.com'), shown);
    assert.ok(!shown.includes('internal'), 'the decision’s field path still applies');
  });

  it('create and consume carry the requirement digest of this decision; consume names the issuer', async () => {
    const client = new ScriptedClient({});
    const req = escalation();
    await escalator(client).escalate(req);
    await escalator(client).escalate({ ...req, presentedId: ID });
    const digest = approvalRequirementDigest(req.approval);
    assert.equal(client.created[0].requirement, digest);
    assert.equal(client.consumed[0].requirement, digest);
    assert.equal(client.consumed[0].issuer, 'http://iss');
    const tightened = { ...req.approval, min_approvals: 2 };
    await escalator(client).escalate({ ...req, approval: tightened, presentedId: ID });
    assert.notEqual(client.consumed[1].requirement, digest, 'a tightened policy sends another');
  });

  it('refusals without a special case (requirement_changed, too_many_pending) stay refusals', async () => {
    for (const code of ['requirement_changed', 'too_many_pending'] as const) {
      const client = new ScriptedClient({
        create: () => ({ ok: false, error: { code, message: code } }),
        consume: () => ({ ok: false, error: { code, message: code } }),
      });
      const created = await escalator(client).escalate(escalation());
      assert.equal(created.kind === 'refused' ? created.code : created.kind, code);
      const used = await escalator(client).escalate(escalation({ presentedId: ID }));
      assert.equal(used.kind === 'refused' ? used.code : used.kind, code);
    }
  });

  it('a held call proceeds once the approval arrives, consuming it for this call', async () => {
    const client = new ScriptedClient({ settle: () => state('approved') });
    const out = await escalator(client).escalate(escalation({ waitMs: 5000 }));
    assert.equal(out.kind, 'approved');
    assert.deepEqual(client.waited, [5000]);
    assert.equal(client.consumed[0].approval_id, ID);
    assert.equal(client.consumed[0].subject, 'fn-cleanup');
  });

  it('a held call that is denied meanwhile is refused with code denied', async () => {
    const client = new ScriptedClient({ settle: () => state('denied') });
    const out = await escalator(client).escalate(escalation({ waitMs: 5000 }));
    assert.deepEqual(out.kind === 'refused' ? out.code : out.kind, 'denied');
    assert.equal(client.consumed.length, 0);
  });

  it('a presented approval is consumed, never re-created', async () => {
    const client = new ScriptedClient({});
    const out = await escalator(client).escalate(escalation({ presentedId: ID }));
    assert.equal(out.kind, 'approved');
    assert.equal(client.created.length, 0);
  });

  it('a refused consume carries the control plane code (a second use is already_used)', async () => {
    const client = new ScriptedClient({
      consume: () => ({ ok: false, error: { code: 'already_used', message: 'used' } }),
    });
    const out = await escalator(client).escalate(escalation({ presentedId: ID }));
    assert.equal(out.kind === 'refused' ? out.code : out.kind, 'already_used');
  });

  it('a presented id that is not a UUID is refused without asking the control plane', async () => {
    const client = new ScriptedClient({});
    const out = await escalator(client).escalate(escalation({ presentedId: "' or 1=1 --" }));
    assert.equal(out.kind, 'refused');
    assert.equal(client.consumed.length, 0);
  });

  it('an unreachable control plane fails closed as unavailable', async () => {
    const client = new ScriptedClient({
      create: () => {
        throw new ApprovalUnavailableError('no responders');
      },
    });
    const out = await escalator(client).escalate(escalation());
    assert.equal(out.kind, 'unavailable');
  });

  it('a store failure reported by the control plane is unavailable, not a refusal', async () => {
    const client = new ScriptedClient({
      consume: () => ({ ok: false, error: { code: 'unavailable', message: 'database locked' } }),
    });
    const out = await escalator(client).escalate(escalation({ presentedId: ID }));
    assert.equal(out.kind, 'unavailable');
  });
});
