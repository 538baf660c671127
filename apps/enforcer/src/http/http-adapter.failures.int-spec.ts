import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { DecisionEvent } from '@portcullis/contracts';
import { Masker } from '@portcullis/masking';
import { Logger } from '@portcullis/platform';
import { waitFor } from '@portcullis/testing';
import type { ApprovalEscalator, EscalationRequest } from '../approvals/approval.escalator';
import type { ResolvedConnection } from '../connections/connection.types';
import { EnforcerMetrics } from '../metrics/enforcer.metrics';
import { DecisionPipeline } from '../pipeline/decision.pipeline';
import type { ActivePolicy } from '../pipeline/decision.types';
import { HttpAdapter } from './http.adapter';
import { ResponseMasker } from './response.masker';

const quiet = new Logger('test', 'error', () => undefined);

/** A policy by path: `/masked/*` allows with a mask, `/approve/*` escalates, the rest allows. */
const policy: ActivePolicy = {
  bundle: 'default',
  version: 1,
  digest: 'a'.repeat(64),
  activatedAt: new Date().toISOString(),
  policy: {
    evaluate: (input) => {
      const path = (input as { request: { path: string } }).request.path;
      if (path.startsWith('/masked')) return { allow: true, mask: { detectors: ['email'] } };
      if (path.startsWith('/approve')) {
        return { allow: false, approval: { required: true, approvers: ['group:ops'] } };
      }
      return { allow: true };
    },
  },
};

/**
 * The HTTP adapter when things go wrong at the edges: upstreams that answer nonsense or stall,
 * callers that leave early. Each call must end in exactly one decision event, and nothing may
 * crash the process (an unhandled rejection exits node 20).
 */
describe('HTTP adapter failure paths (real sockets, in-memory pipeline)', () => {
  const events: DecisionEvent[] = [];
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => rejections.push(err);
  let badStatus: TcpServer;
  let stalling: Server;
  let adapter: HttpAdapter;
  let upstreamCalls = 0;
  let escalations: EscalationRequest[] = [];
  let verifyDelayMs = 0;

  const connections = new Map<string, ResolvedConnection>();

  before(async () => {
    process.on('unhandledRejection', onRejection);
    badStatus = createTcpServer((s) => {
      upstreamCalls++;
      s.on('data', () => s.end('HTTP/1.1 099 Odd\r\ncontent-length: 0\r\n\r\n'));
      s.on('error', () => undefined);
    });
    stalling = createHttpServer((_req, res) => {
      upstreamCalls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":'); // then nothing: the enforcer's upstream timeout fires after the head
    });
    await new Promise<void>((r) => badStatus.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => stalling.listen(0, '127.0.0.1', r));
    const at = (s: TcpServer | Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    for (const [name, url] of [
      ['bad', at(badStatus)],
      ['stall', at(stalling)],
    ]) {
      connections.set(name, {
        name,
        type: 'http',
        url: new URL(url),
        labels: {},
        credentials: null,
        source: 'file',
      });
    }
    const metrics = new EnforcerMetrics();
    const masker = new Masker(Buffer.alloc(32, 5));
    const pipeline = new DecisionPipeline({
      enforcerId: 'e-failures',
      failMode: 'closed',
      policies: { bundleName: 'default', current: () => policy },
      sink: { enqueue: (e) => events.push(e) },
      metrics,
      logger: quiet,
      masker,
      recordMaxBytes: 1024,
    });
    const escalator = {
      escalate: (req: EscalationRequest) => {
        escalations.push(req);
        // Holds until the caller goes away, as a held call with no approver would.
        return new Promise((resolve) =>
          req.signal?.addEventListener('abort', () =>
            resolve({
              kind: 'pending',
              approval: {
                approval_id: '11111111-2222-4333-8444-555555555555',
                status: 'pending',
                expires_at: new Date().toISOString(),
                approvals: 0,
                min_approvals: 1,
              },
            }),
          ),
        );
      },
    } as unknown as ApprovalEscalator;
    adapter = new HttpAdapter(
      {
        host: '127.0.0.1',
        port: 0,
        connections: { get: (name) => connections.get(name) ?? null },
        responseMasker: new ResponseMasker(masker, { maxBytes: 65_536, oversize: 'fail' }),
        recordMaxBytes: 1024,
        approvals: { escalator, maxWaitSeconds: 30, maxHeld: 4, controlPlaneUrl: 'http://cp' },
        maxBodyBytes: 1024,
        maxHeaderBytes: 8192,
        requestTimeoutMs: 5000,
        upstreamTimeoutMs: 300,
      },
      pipeline,
      {
        verify: async () => {
          if (verifyDelayMs > 0) await new Promise((r) => setTimeout(r, verifyDelayMs));
          return {
            subject: 'fn',
            issuer: 'http://iss',
            audience: ['portcullis-enforcer'],
            claims: {},
            expiresAt: new Date(Date.now() + 60_000),
          };
        },
      },
      metrics,
      quiet,
    );
    await adapter.start();
  });
  after(async () => {
    await adapter.stop();
    badStatus.close();
    stalling.closeAllConnections();
    await new Promise((r) => stalling.close(r));
    process.off('unhandledRejection', onRejection);
  });

  /** Raw bytes to the adapter; resolves with what came back once the socket closes or `ms` pass. */
  const raw = (bytes: string, ms = 2000, closeAfterWrite = false) =>
    new Promise<string>((resolve) => {
      let text = '';
      const s = connect(adapter.port, '127.0.0.1', () => {
        s.write(bytes);
        if (closeAfterWrite) s.destroy();
      });
      s.on('data', (d: Buffer) => (text += d.toString('latin1')));
      s.on('error', () => undefined);
      const timer = setTimeout(() => {
        s.destroy();
        resolve(text);
      }, ms);
      s.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
  const get = (path: string, extra = '') =>
    `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n${extra}\r\n`;
  const eventsFor = (path: string) => events.filter((e) => e.request.path === path);

  for (const connection of ['bad', 'bad/masked']) {
    it(`an upstream status below 100 (${connection}) is one 502 upstream_failed and no crash`, async () => {
      const path = `/${connection.replace('bad', '')}/x`.replace('//', '/');
      const text = await raw(get(`/bad${path}`));
      assert.match(text, /^HTTP\/1\.1 502 /, text);
      await waitFor(async () => eventsFor(path).length === 1, 2000, 'the event');
      assert.equal(eventsFor(path)[0].error?.code, 'upstream_failed');
      assert.deepEqual(rejections, []);
    });
  }

  it('a masked call whose upstream stalls after its head answers once, even to a pipelining caller', async () => {
    const text = await raw(get('/stall/masked/one') + get('/stall/masked/two'), 2500);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.ok(statuses.length >= 1 && statuses.length <= 2, text);
    assert.ok(
      statuses.every((s) => s === '504' || s === '502'),
      text,
    );
    await waitFor(async () => eventsFor('/masked/one').length === 1, 2000, 'the first event');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(eventsFor('/masked/one').length, 1, 'exactly one event for the call');
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  });

  it('a caller that leaves during authentication is recorded once as 499 and nothing goes upstream', async () => {
    verifyDelayMs = 200;
    const before = upstreamCalls;
    try {
      await raw(get('/stall/left-early'), 100, true);
      await waitFor(async () => eventsFor('/left-early').length === 1, 3000, 'the event');
    } finally {
      verifyDelayMs = 0;
    }
    assert.equal(eventsFor('/left-early')[0].status, 499);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(upstreamCalls, before, 'the upstream never saw the call');
    assert.equal(eventsFor('/left-early').length, 1);
  });

  it('a held call whose caller leaves stops waiting: the escalation is aborted, not left to use an approval', async () => {
    escalations = [];
    await raw(get('/stall/approve/held', 'Prefer: wait=20\r\n'), 300);
    await waitFor(async () => eventsFor('/approve/held').length === 1, 3000, 'the event');
    assert.equal(escalations.length, 1);
    assert.equal(escalations[0].signal?.aborted, true);
    assert.equal(eventsFor('/approve/held')[0].status, 499);
  });
});
