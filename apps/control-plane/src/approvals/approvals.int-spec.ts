import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import {
  APPROVAL_CREATE_SCHEMA,
  APPROVAL_SUBJECTS,
  approvalChangedSubject,
  approvalFingerprint,
  approvalRequirementDigest,
  parseApprovalReply,
  parseApprovalState,
  type ApprovalCreateRequest,
  type ApprovalReply,
  type ApprovalState,
} from '@portcullis/contracts';
import { NatsServerProcess, waitFor } from '@portcullis/testing';
import { ControlPlaneHarness } from '../testing/control-plane.harness';
import { ApprovalWebhookSignature } from './approval-webhook.signature';

const POSTGRES_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;
const WEBHOOK_SECRET = `whsec-${randomBytes(16).toString('hex')}`;
const PUBLIC_URL = 'https://cp.example.test';
/** Stands for data in a request body: it may be shown to approvers but never leave in a webhook. */
const BODY_MARKER = `body-${randomBytes(8).toString('hex')}`;

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
}

/** A webhook receiver that fails the first delivery of each event id with 500, then accepts. */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const id = String(req.headers['portcullis-event-id']);
      const status = seen.has(id) ? 200 : 500;
      seen.add(id);
      received.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { server, url: `http://127.0.0.1:${port}/hooks/approvals`, received };
}

function suite(database: 'sqlite' | 'postgres'): void {
  describe(
    `approvals on ${database}: NATS request-reply, approver rules, exactly-once consume, expiry, webhook`,
    {
      skip:
        database === 'postgres' && !POSTGRES_URL
          ? 'set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL variant'
          : false,
    },
    () => {
      let dir: string;
      let nats: NatsServerProcess;
      let h: ControlPlaneHarness;
      let replica: ControlPlaneHarness;
      let nc: NatsConnection;
      let pg: Client | null = null;
      let schema = '';
      let receiver: Awaited<ReturnType<typeof startReceiver>>;
      let dbaBob: string;
      let dbaDave: string;
      let devAlice: string;
      let auditor: string;

      before(async () => {
        dir = mkdtempSync(join(tmpdir(), 'cp-approvals-'));
        let databaseUrl = `sqlite:${join(dir, 'cp.db')}`;
        if (database === 'postgres') {
          schema = `cp_appr_${randomBytes(6).toString('hex')}`;
          pg = new Client({ connectionString: POSTGRES_URL });
          await pg.connect();
          await pg.query(`CREATE SCHEMA ${schema}`);
          const u = new URL(POSTGRES_URL!);
          u.searchParams.set('schema', schema);
          databaseUrl = u.toString();
        }
        receiver = await startReceiver();
        nats = await NatsServerProcess.start();
        const env = {
          CP_PUBLIC_URL: PUBLIC_URL,
          APPROVAL_SWEEP_INTERVAL_MS: '200',
          APPROVAL_WEBHOOK_URL: receiver.url,
          APPROVAL_WEBHOOK_SECRET: WEBHOOK_SECRET,
        };
        h = await ControlPlaneHarness.start({ databaseUrl, nats, env });
        // A second replica on the same database and NATS: the queue group shares the requests.
        replica = await ControlPlaneHarness.start({ databaseUrl, nats, env });
        nc = await connect({ servers: nats.url });
        const approver = (sub: string, groups: string[]) =>
          h.issuer.mint({
            sub,
            claims: { [h.config.auth.rolesClaim]: ['approver'], groups },
          });
        dbaBob = await approver('bob', ['dba']);
        dbaDave = await approver('dave', ['ops', 'dba']);
        devAlice = await approver('alice', ['dev']);
        auditor = await h.token('erin', ['auditor']);
      });

      after(async () => {
        await nc?.close();
        await replica?.stop();
        await h?.stop();
        await nats?.stop();
        await new Promise<void>((r) => receiver?.server.close(() => r()));
        if (pg) {
          await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await pg.end();
        }
        rmSync(dir, { recursive: true, force: true });
      });

      /** A plain `nc.request` with a JSON body, as the enforcer sends it; the raw reply text back. */
      const rawAsk = async (subject: string, body: string): Promise<string> =>
        (await nc.request(subject, body, { timeout: 5000 })).string();
      const ask = async (subject: string, body: unknown): Promise<ApprovalReply> =>
        parseApprovalReply(JSON.parse(await rawAsk(subject, JSON.stringify(body))));

      const requester = () => ({
        subject: `svc-${randomBytes(4).toString('hex')}`,
        issuer: h.issuer.issuer,
      });
      const createRequest = (
        over: {
          subject?: string;
          issuer?: string;
          approvers?: string[];
          min?: number;
          ttl?: number;
          path?: string;
        } = {},
      ): ApprovalCreateRequest => {
        const who = over.subject
          ? { subject: over.subject, issuer: over.issuer ?? h.issuer.issuer }
          : requester();
        const body = { reason: BODY_MARKER, card: '****' };
        const path = over.path ?? '/customers';
        const approval = {
          required: true as const,
          reason: 'bulk delete needs a DBA',
          approvers: [...(over.approvers ?? ['group:dba'])].sort(),
          min_approvals: over.min ?? 1,
          ttl_seconds: over.ttl ?? 900,
        };
        return {
          schema: APPROVAL_CREATE_SCHEMA,
          decision_id: randomUUID(),
          enforcer_id: 'enforcer-1',
          requester: who,
          connection: 'crm',
          request: { method: 'DELETE', path, query: 'confirm=true', body },
          fingerprint: approvalFingerprint({
            issuer: who.issuer,
            subject: who.subject,
            connection: 'crm',
            method: 'DELETE',
            path,
            query: 'confirm=true',
            body: Buffer.from(JSON.stringify(body)),
          }),
          approval,
          requirement: approvalRequirementDigest(approval),
          bundle: { name: 'default', version: 3 },
        };
      };
      /** The same call again (a retry without the approval header): a new decision id. */
      const retryOf = (req: ApprovalCreateRequest): ApprovalCreateRequest => ({
        ...req,
        decision_id: randomUUID(),
      });
      const create = async (req: ApprovalCreateRequest): Promise<ApprovalState> => {
        const r = await ask(APPROVAL_SUBJECTS.create, req);
        assert.ok(r.ok, JSON.stringify(r));
        return r.approval;
      };
      const consume = (req: ApprovalCreateRequest, id: string, over: Record<string, string> = {}) =>
        ask(APPROVAL_SUBJECTS.consume, {
          approval_id: id,
          subject: req.requester.subject,
          issuer: req.requester.issuer,
          fingerprint: req.fingerprint,
          requirement: req.requirement,
          decision_id: randomUUID(),
          enforcer_id: 'enforcer-2',
          ...over,
        });
      const act = (verb: 'approve' | 'deny', id: string, token: string, body?: unknown) =>
        h.request('POST', `/v1/approvals/${id}/${verb}`, { token, body });
      const errorCode = (r: { body: unknown }) =>
        (r.body as { error: { code: string } }).error.code;

      void it('a plain nc.request gets a plain ApprovalReply back, no framework envelope, for create and get', async () => {
        const req = createRequest({ ttl: 600 });
        const before = Date.now();
        const text = await rawAsk(APPROVAL_SUBJECTS.create, JSON.stringify(req));
        const raw = JSON.parse(text) as Record<string, unknown>;
        assert.deepEqual(Object.keys(raw).sort(), ['approval', 'ok']);
        const state = parseApprovalState(raw.approval);
        assert.equal(state.status, 'pending');
        assert.equal(state.approvals, 0);
        assert.equal(state.min_approvals, 1);
        const expires = Date.parse(state.expires_at);
        assert.ok(expires >= before + 600_000 && expires <= Date.now() + 600_000);
        const got = JSON.parse(
          await rawAsk(APPROVAL_SUBJECTS.get, JSON.stringify({ approval_id: state.approval_id })),
        ) as unknown;
        assert.deepEqual(got, { ok: true, approval: state });
      });

      void it('creating twice for one decision returns the same request and records one request event', async () => {
        const req = createRequest();
        const a = await create(req);
        const b = await create(req);
        assert.equal(a.approval_id, b.approval_id);
        const detail = await h.request('GET', `/v1/approvals/${a.approval_id}`, { token: auditor });
        assert.equal(detail.status, 200, detail.text);
        const events = (detail.body as { events: { type: string }[] }).events;
        assert.deepEqual(
          events.map((e) => e.type),
          ['requested'],
        );
      });

      void it('a message that breaks the contract is answered invalid_request, an unknown id not_found', async () => {
        const notJson = JSON.parse(
          await rawAsk(APPROVAL_SUBJECTS.create, '{nope'),
        ) as ApprovalReply;
        assert.equal(!notJson.ok && notJson.error.code, 'invalid_request');
        const noFingerprint: Record<string, unknown> = { ...createRequest() };
        delete noFingerprint.fingerprint;
        const missing = await ask(APPROVAL_SUBJECTS.create, noFingerprint);
        assert.ok(!missing.ok);
        assert.equal(missing.error.code, 'invalid_request');
        assert.match(missing.error.message, /fingerprint/);
        const badId = await ask(APPROVAL_SUBJECTS.get, { approval_id: 'x' });
        assert.equal(!badId.ok && badId.error.code, 'invalid_request');
        const unknown = await ask(APPROVAL_SUBJECTS.get, { approval_id: randomUUID() });
        assert.equal(!unknown.ok && unknown.error.code, 'not_found');
      });

      void it('an approved request can be used once by the same caller for the same operation', async () => {
        const req = createRequest();
        const { approval_id: id } = await create(req);
        const early = await consume(req, id);
        assert.equal(!early.ok && early.error.code, 'not_approved');
        const approved = await act('approve', id, dbaBob, { comment: 'ok for the cleanup' });
        assert.equal(approved.status, 200, approved.text);
        assert.equal((approved.body as { status: string }).status, 'approved');
        const other = await consume(req, id, { fingerprint: 'f'.repeat(64) });
        assert.equal(!other.ok && other.error.code, 'fingerprint_mismatch');
        const stranger = await consume(req, id, { subject: 'svc-stranger' });
        assert.equal(!stranger.ok && stranger.error.code, 'subject_mismatch');
        const decisionId = randomUUID();
        const used = await consume(req, id, { decision_id: decisionId });
        assert.ok(used.ok, JSON.stringify(used));
        assert.equal(used.approval.status, 'consumed');
        const again = await consume(req, id);
        assert.equal(!again.ok && again.error.code, 'already_used');
        // The same call asking again (its reply was lost) is told it holds the approval.
        const retried = await consume(req, id, { decision_id: decisionId });
        assert.ok(retried.ok);
        const detail = (await h.request('GET', `/v1/approvals/${id}`, { token: auditor })).body as {
          events: { type: string; actor: { subject: string } | null; comment: string | null }[];
          consumed: { decision_id: string; enforcer_id: string };
          approvals_given: { approver: { subject: string }; comment: string }[];
          request: { body: { reason: string } };
        };
        assert.deepEqual(
          detail.events.map((e) => e.type),
          ['requested', 'approved', 'consumed'],
        );
        assert.equal(detail.events[1].comment, 'ok for the cleanup');
        assert.equal(detail.events[2].actor?.subject, req.requester.subject);
        assert.deepEqual(detail.consumed.decision_id, decisionId);
        assert.equal(detail.consumed.enforcer_id, 'enforcer-2');
        assert.deepEqual(
          detail.approvals_given.map((a) => a.approver.subject),
          ['bob'],
        );
        assert.equal(detail.request.body.reason, BODY_MARKER);
      });

      void it('an approval cannot be used twice, even by many concurrent consumers across two replicas', async () => {
        const req = createRequest();
        const { approval_id: id } = await create(req);
        assert.equal((await act('approve', id, dbaBob)).status, 200);
        const replies = await Promise.all(Array.from({ length: 40 }, () => consume(req, id)));
        const ok = replies.filter((r) => r.ok);
        assert.equal(ok.length, 1, JSON.stringify(replies.filter((r) => !r.ok).slice(0, 3)));
        for (const r of replies)
          if (!r.ok) assert.equal(r.error.code, 'already_used', r.error.message);
        const detail = (await h.request('GET', `/v1/approvals/${id}`, { token: auditor })).body as {
          events: { type: string }[];
        };
        assert.equal(detail.events.filter((e) => e.type === 'consumed').length, 1);
      });

      void it('the requester never approves their own request, even when named or in the group', async () => {
        const req = createRequest({ subject: 'bob', approvers: ['user:bob', 'group:dba'] });
        const { approval_id: id } = await create(req);
        const self = await act('approve', id, dbaBob);
        assert.equal(self.status, 403, self.text);
        assert.equal(errorCode(self), 'self_approval');
      });

      void it('the same subject from another issuer cannot use the approval (subject_mismatch)', async () => {
        const req = createRequest();
        const { approval_id: id } = await create(req);
        assert.equal((await act('approve', id, dbaBob)).status, 200);
        const otherIssuer = await consume(req, id, { issuer: 'https://other-idp.example.test' });
        assert.equal(!otherIssuer.ok && otherIssuer.error.code, 'subject_mismatch');
        const rightful = await consume(req, id);
        assert.ok(rightful.ok, 'the refusal did not use it up');
      });

      void it('an approver with the requester’s subject is refused as self-approval even under another issuer', async () => {
        const req = createRequest({
          subject: 'bob',
          issuer: 'https://machine-idp.example.test',
          approvers: ['group:dba'],
        });
        const { approval_id: id } = await create(req);
        const self = await act('approve', id, dbaBob);
        assert.equal(self.status, 403, self.text);
        assert.equal(errorCode(self), 'self_approval');
        assert.equal((await act('approve', id, dbaDave)).status, 200, 'another approver may');
      });

      void it('an approval granted under a looser requirement is refused once the policy asks for more', async () => {
        const req = createRequest({ approvers: ['group:dba'], min: 1 });
        const { approval_id: id } = await create(req);
        assert.equal((await act('approve', id, dbaBob)).status, 200);
        const tightened = approvalRequirementDigest({ approvers: ['group:dba'], min_approvals: 2 });
        const refused = await consume(req, id, { requirement: tightened });
        assert.equal(!refused.ok && refused.error.code, 'requirement_changed');
        const otherApprovers = approvalRequirementDigest({
          approvers: ['group:dba', 'user:carol'],
          min_approvals: 1,
        });
        const again = await consume(req, id, { requirement: otherApprovers });
        assert.equal(!again.ok && again.error.code, 'requirement_changed');
        assert.ok((await consume(req, id)).ok, 'under the same requirement it is still usable');
      });

      void it('a create whose approvers do not match its requirement digest is refused (no forged approvers)', async () => {
        const real = createRequest({ approvers: ['group:dba'] });
        const forged = { ...real, approval: { ...real.approval, approvers: ['user:mallory'] } };
        const reply = await ask(APPROVAL_SUBJECTS.create, forged);
        assert.ok(!reply.ok);
        assert.equal(reply.error.code, 'invalid_request');
        assert.match(reply.error.message, /requirement/);
        // Forged consistently (approvers and digest both changed), it is stored, but the real
        // policy's requirement never matches it at consume.
        const consistent = createRequest({ approvers: ['user:mallory'] });
        const { approval_id: id } = await create(consistent);
        const mallory = await h.issuer.mint({
          sub: 'mallory',
          claims: { [h.config.auth.rolesClaim]: ['approver'], groups: [] },
        });
        assert.equal((await act('approve', id, mallory)).status, 200);
        const used = await consume(consistent, id, { requirement: real.requirement });
        assert.equal(!used.ok && used.error.code, 'requirement_changed');
      });

      void it('a retry of a still-pending call reuses its request instead of creating another', async () => {
        const req = createRequest();
        const first = await create(req);
        const second = await create(retryOf(req));
        assert.equal(second.approval_id, first.approval_id);
        const detail = await h.request('GET', `/v1/approvals/${first.approval_id}`, {
          token: auditor,
        });
        assert.deepEqual(
          (detail.body as { events: { type: string }[] }).events.map((e) => e.type),
          ['requested'],
        );
        const stricter = createRequest({ subject: req.requester.subject, min: 2 });
        const other = await create({ ...stricter, fingerprint: req.fingerprint });
        assert.notEqual(
          other.approval_id,
          first.approval_id,
          'another requirement is another request',
        );
        const denied = await act('deny', first.approval_id, dbaBob, { comment: 'no' });
        assert.equal(denied.status, 200);
        const after = await create(retryOf(req));
        assert.notEqual(after.approval_id, first.approval_id, 'a decided request is not reused');
        assert.equal(after.status, 'pending');
      });

      void it('a requester with 20 pending requests is refused too_many_pending; others are not', async () => {
        const req = createRequest();
        const subject = req.requester.subject;
        const ids = new Set<string>();
        for (let i = 0; i < 20; i++)
          ids.add((await create(createRequest({ subject, path: `/customers/${i}` }))).approval_id);
        assert.equal(ids.size, 20);
        const over = await ask(APPROVAL_SUBJECTS.create, createRequest({ subject, path: '/x' }));
        assert.ok(!over.ok);
        assert.equal(over.error.code, 'too_many_pending');
        const reused = await create(createRequest({ subject, path: '/customers/3' }));
        assert.ok(ids.has(reused.approval_id), 'a retry of a pending call is still answered');
        assert.ok((await ask(APPROVAL_SUBJECTS.create, createRequest())).ok, 'another requester');
        const [oneId] = ids;
        assert.equal((await act('deny', oneId, dbaBob, { comment: 'no' })).status, 200);
        const freed = await ask(APPROVAL_SUBJECTS.create, createRequest({ subject, path: '/x' }));
        assert.ok(freed.ok, 'a decided request frees a slot');
      });

      void it('approvers list and read only the requests that name them; auditors read all', async () => {
        const forDba = (await create(createRequest({ approvers: ['group:dba'] }))).approval_id;
        const forAlice = (await create(createRequest({ approvers: ['user:alice'] }))).approval_id;
        const listed = async (token: string): Promise<string[]> => {
          const ids: string[] = [];
          let cursor: string | null = null;
          do {
            const q: string = `?limit=200${cursor ? `&cursor=${cursor}` : ''}`;
            const page = await h.request('GET', `/v1/approvals${q}`, { token });
            assert.equal(page.status, 200, page.text);
            const body = page.body as {
              items: { approval_id: string }[];
              next_cursor: string | null;
            };
            ids.push(...body.items.map((i) => i.approval_id));
            cursor = body.next_cursor;
          } while (cursor);
          return ids;
        };
        const alice = await listed(devAlice);
        assert.ok(alice.includes(forAlice));
        assert.ok(!alice.includes(forDba), 'not named: not listed');
        const bob = await listed(dbaBob);
        assert.ok(bob.includes(forDba));
        assert.ok(!bob.includes(forAlice));
        const all = await listed(auditor);
        assert.ok(all.includes(forDba) && all.includes(forAlice));
        const read = (id: string, token: string) =>
          h.request('GET', `/v1/approvals/${id}`, { token });
        assert.equal((await read(forDba, devAlice)).status, 404);
        assert.equal((await read(forAlice, devAlice)).status, 200);
        assert.equal((await read(forDba, dbaBob)).status, 200);
        assert.equal((await read(forAlice, auditor)).status, 200);
      });

      void it('an approver outside the listed users and groups is refused; a role other than approver too', async () => {
        const { approval_id: id } = await create(
          createRequest({ approvers: ['group:dba', 'user:carol'] }),
        );
        const outsider = await act('approve', id, devAlice);
        assert.equal(outsider.status, 403);
        assert.equal(errorCode(outsider), 'not_an_approver');
        const audit = await act('approve', id, auditor);
        assert.equal(audit.status, 403);
        assert.equal(errorCode(audit), 'forbidden');
        const listed = await act('approve', id, dbaDave);
        assert.equal(listed.status, 200, listed.text);
      });

      void it('N-of-M needs N distinct approvers: the same approver twice counts once', async () => {
        const { approval_id: id } = await create(createRequest({ min: 2 }));
        const first = await act('approve', id, dbaBob);
        assert.equal(first.status, 200);
        assert.equal((first.body as { status: string }).status, 'pending');
        assert.equal((first.body as { approvals: number }).approvals, 1);
        const twice = await act('approve', id, dbaBob);
        assert.equal(twice.status, 409);
        assert.equal(errorCode(twice), 'already_approved');
        const second = await act('approve', id, dbaDave);
        assert.equal(second.status, 200);
        assert.equal((second.body as { status: string }).status, 'approved');
        assert.equal((second.body as { approvals: number }).approvals, 2);
        const late = await act('approve', id, dbaBob);
        assert.equal(late.status, 409);
        assert.equal(errorCode(late), 'approval_not_pending');
      });

      void it('concurrent approvals by one approver count once', async () => {
        const { approval_id: id } = await create(createRequest({ min: 3 }));
        const results = await Promise.all(
          Array.from({ length: 8 }, () => act('approve', id, dbaBob)),
        );
        assert.equal(results.filter((r) => r.status === 200).length, 1);
        assert.ok(results.every((r) => r.status === 200 || errorCode(r) === 'already_approved'));
        const state = await ask(APPROVAL_SUBJECTS.get, { approval_id: id });
        assert.equal(state.ok && state.approval.approvals, 1);
      });

      void it('a denial ends the request at once: no approval, no use; it needs a comment', async () => {
        const req = createRequest({ min: 2 });
        const { approval_id: id } = await create(req);
        assert.equal((await act('approve', id, dbaBob)).status, 200);
        const silent = await act('deny', id, dbaDave, {});
        assert.equal(silent.status, 400);
        const denied = await act('deny', id, dbaDave, { comment: 'not during the freeze' });
        assert.equal(denied.status, 200, denied.text);
        assert.equal((denied.body as { status: string }).status, 'denied');
        const after = await act('approve', id, dbaDave);
        assert.equal(after.status, 409);
        assert.equal(errorCode(after), 'approval_not_pending');
        const used = await consume(req, id);
        assert.equal(!used.ok && used.error.code, 'denied');
      });

      void it('an expired request cannot be approved or used, and the sweeper records and announces its expiry', async () => {
        const req = createRequest({ ttl: 1 });
        const { approval_id: id } = await create(req);
        const notices: ApprovalState[] = [];
        const sub = nc.subscribe(approvalChangedSubject(id), {
          callback: (_err, msg) => {
            notices.push(parseApprovalState(msg.json()));
          },
        });
        await new Promise((r) => setTimeout(r, 1100));
        const late = await act('approve', id, dbaBob);
        assert.equal(late.status, 409);
        assert.equal(errorCode(late), 'approval_expired');
        const used = await consume(req, id);
        assert.equal(!used.ok && used.error.code, 'expired');
        await waitFor(() => notices.some((n) => n.status === 'expired'), 5000, 'expiry notice');
        sub.unsubscribe();
        const detail = (await h.request('GET', `/v1/approvals/${id}`, { token: auditor })).body as {
          status: string;
          events: { type: string; actor: unknown }[];
        };
        assert.equal(detail.status, 'expired');
        const expired = detail.events.filter((e) => e.type === 'expired');
        assert.equal(expired.length, 1);
        assert.equal(expired[0].actor, null);
      });

      void it('every status change is published on the request’s changed subject', async () => {
        const req = createRequest();
        const { approval_id: id } = await create(req);
        const notices: ApprovalState[] = [];
        const sub = nc.subscribe(approvalChangedSubject(id), {
          callback: (_err, msg) => {
            notices.push(parseApprovalState(msg.json()));
          },
        });
        await nc.flush();
        assert.equal((await act('approve', id, dbaBob)).status, 200);
        assert.ok((await consume(req, id)).ok);
        await waitFor(() => notices.length >= 2, 5000, 'notices');
        sub.unsubscribe();
        assert.deepEqual(
          notices.map((n) => n.status),
          ['approved', 'consumed'],
        );
        assert.ok(notices.every((n) => n.approval_id === id));
      });

      void it('approvers list pending requests page by page; status links point at the public URL', async () => {
        const ids = [];
        for (let i = 0; i < 3; i++) ids.push((await create(createRequest())).approval_id);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const q: string = `?status=pending&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
          const page = await h.request('GET', `/v1/approvals${q}`, { token: dbaBob });
          assert.equal(page.status, 200, page.text);
          const body = page.body as {
            items: { approval_id: string; status: string; status_url: string }[];
            next_cursor: string | null;
          };
          assert.ok(body.items.length <= 2);
          for (const item of body.items) {
            assert.equal(item.status, 'pending');
            assert.equal(item.status_url, `${PUBLIC_URL}/v1/approvals/${item.approval_id}/status`);
            seen.push(item.approval_id);
          }
          cursor = body.next_cursor;
        } while (cursor);
        for (const id of ids) assert.ok(seen.includes(id));
        assert.equal(new Set(seen).size, seen.length, 'no item repeated across pages');
        const bad = await h.request('GET', '/v1/approvals?status=maybe', { token: dbaBob });
        assert.equal(bad.status, 400);
      });

      void it('the status link is readable by the requester and approvers; others are told it does not exist', async () => {
        const req = createRequest();
        const { approval_id: id } = await create(req);
        const own = await h.issuer.mint({ sub: req.requester.subject });
        const mine = await h.request('GET', `/v1/approvals/${id}/status`, { token: own });
        assert.equal(mine.status, 200, mine.text);
        assert.deepEqual(Object.keys(mine.body as object).sort(), [
          'approval_id',
          'expires_at',
          'status',
        ]);
        const other = await h.issuer.mint({ sub: 'svc-other' });
        const theirs = await h.request('GET', `/v1/approvals/${id}/status`, { token: other });
        assert.equal(theirs.status, 404);
        assert.equal(
          (await h.request('GET', `/v1/approvals/${id}/status`, { token: dbaBob })).status,
          200,
        );
        assert.equal((await h.request('GET', `/v1/approvals/${id}`, { token: other })).status, 403);
      });

      void it('the webhook gets signed notifications without request bodies, retried after a 500', async () => {
        const req = createRequest();
        const { approval_id: id } = await create(req);
        await act('approve', id, dbaBob);
        const forId = () =>
          receiver.received.filter(
            (r) =>
              (JSON.parse(r.body) as { approval: { approval_id: string } }).approval.approval_id ===
              id,
          );
        await waitFor(
          () =>
            ['approval.requested', 'approval.approved'].every((e) =>
              forId().some((r) => r.status === 200 && JSON.parse(r.body).event === e),
            ),
          15_000,
          'both webhooks delivered',
        );
        const requested = forId().filter((r) => JSON.parse(r.body).event === 'approval.requested');
        assert.deepEqual(
          requested.map((r) => r.status),
          [500, 200],
          'first attempt failed, retried once',
        );
        const ids = new Set(requested.map((r) => r.headers['portcullis-event-id']));
        assert.equal(ids.size, 1, 'a retry carries the same event id');
        for (const r of forId()) {
          const sig = r.headers['portcullis-signature'];
          assert.equal(typeof sig, 'string');
          assert.ok(
            ApprovalWebhookSignature.verify(
              WEBHOOK_SECRET,
              r.body,
              sig as string,
              Math.floor(Date.now() / 1000),
            ),
            'signature verifies',
          );
          assert.ok(!r.body.includes(BODY_MARKER), 'no request body in a webhook');
          assert.ok(!r.body.includes(WEBHOOK_SECRET));
          const payload = JSON.parse(r.body) as {
            approval: { reason: string; requester: { subject: string }; request: object };
            status_url: string;
          };
          assert.equal(payload.approval.reason, 'bulk delete needs a DBA');
          assert.equal(payload.approval.requester.subject, req.requester.subject);
          assert.deepEqual(payload.approval.request, { method: 'DELETE', path: '/customers' });
          assert.equal(payload.status_url, `${PUBLIC_URL}/v1/approvals/${id}/status`);
        }
      });
    },
  );
}

suite('sqlite');
suite('postgres');
