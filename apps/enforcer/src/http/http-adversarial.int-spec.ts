import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { connect as connectNats } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NATS_NAMES, decisionSubject } from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, TokenIssuer, waitFor } from '@portcullis/testing';
import type { EnforcerConfig } from '../config/enforcer.config';
import { createEnforcer, type EnforcerApp } from '../enforcer.app';
import { activate, compileRego, uploadVersion } from '../../test/policy-bundle.fixture';
import { RecordingUpstream } from '../../test/recording-upstream.fixture';
import { testEnforcerConfig } from '../../test/enforcer-config.fixture';

const POLICY = `package portcullis

import rego.v1

default decision := {"allow": false, "reasons": ["no rule allows this call"]}

decision := {"allow": true, "reasons": []} if input.identity.claims.team == "billing"
`;

interface RawResult {
  text: string;
  /** Whether the enforcer closed the connection (rather than the test's timer). */
  closed: boolean;
}

/**
 * Attacks on the HTTP adapter that node's own clients would not send: raw bytes over TCP
 * against a real enforcer (nats-server, opa-compiled policy, token issuer, upstreams).
 */
describe('HTTP adapter under adversarial input (real nats-server, opa, issuer, upstream)', () => {
  let nats: NatsServerProcess;
  let nc: NatsConnection;
  let issuer: TokenIssuer;
  let upstream: RecordingUpstream;
  let breaking: Server;
  let enforcer: EnforcerApp;
  let good: string;
  let calls = 0;
  const enforcerId = 'itest-adversarial';

  function raw(request: string, waitMs = 3000, write?: (s: import('node:net').Socket) => void) {
    calls++;
    return new Promise<RawResult>((resolve) => {
      const s = connectTcp(enforcer.proxyPort, '127.0.0.1', () =>
        write ? write(s) : s.write(request),
      );
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString('latin1')));
      s.on('error', () => undefined);
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ text, closed: false });
      }, waitMs);
      s.on('close', () => {
        clearTimeout(timer);
        resolve({ text, closed: true });
      });
    });
  }

  const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]);
  const auth = () => `Authorization: Bearer ${good}\r\n`;

  before(async () => {
    nats = await NatsServerProcess.start();
    nc = await connectNats({ servers: nats.url });
    issuer = new TokenIssuer({ port: 0, audience: 'portcullis-enforcer' });
    await issuer.start();
    upstream = new RecordingUpstream();
    await upstream.start();
    // Promises 100 bytes, sends 10, then resets: a truncated answer.
    breaking = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('0123456789');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    await new Promise<void>((resolve) => breaking.listen(0, '127.0.0.1', resolve));
    const addr = breaking.address();
    const breakingPort = typeof addr === 'object' && addr ? addr.port : 0;
    const basics = {
      enforcerId,
      bundle: 'adversarial',
      natsUrl: nats.url,
      issuer: issuer.issuer,
      upstreamUrl: upstream.url,
    };
    const config: EnforcerConfig = testEnforcerConfig(basics, {
      connections: [
        { name: 'crm', type: 'http', url: new URL(`${upstream.url}/api/`), labels: {} },
        {
          name: 'broken',
          type: 'http',
          url: new URL(`http://127.0.0.1:${breakingPort}`),
          labels: {},
        },
      ],
      maxHeaderBytes: 4096,
      requestTimeoutMs: 1000,
      upstreamTimeoutMs: 1000,
    });
    enforcer = createEnforcer(config, { logger: new Logger('test', 'error', () => undefined) });
    await enforcer.start();
    await activate(
      nc,
      await uploadVersion(nc, 'adversarial', 1, compileRego({ 'policy.rego': POLICY })),
    );
    await waitFor(() => enforcer.watcher.current()?.version === 1, 15_000, 'bundle version 1');
    good = await issuer.mint({ sub: 'fn-billing', claims: { team: 'billing' } });
  });

  after(async () => {
    await enforcer?.stop();
    await nc?.close();
    await upstream?.stop();
    breaking?.closeAllConnections();
    await new Promise<void>((resolve) => (breaking ? breaking.close(() => resolve()) : resolve()));
    await issuer?.stop();
    await nats?.stop();
  });

  it('a header named __proto__ or constructor on an allowed call neither crashes the enforcer nor is lost', async () => {
    const before = upstream.seen.length;
    const r = await raw(
      `GET /crm/x HTTP/1.1\r\nHost: a\r\n${auth()}__proto__: p\r\nconstructor: c\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(statuses(r.text), ['200']);
    assert.equal(upstream.seen.length, before + 1);
    assert.equal(upstream.seen[before].headers.constructor, 'c');
    const again = await raw(`GET /crm/y HTTP/1.1\r\nHost: a\r\n${auth()}Connection: close\r\n\r\n`);
    assert.deepEqual(statuses(again.text), ['200'], 'the enforcer stopped serving');
  });

  it('X-Forwarded-For and Forwarded from the caller are overwritten, not appended to', async () => {
    const before = upstream.seen.length;
    await raw(
      `GET /crm/x HTTP/1.1\r\nHost: a\r\n${auth()}X-Forwarded-For: 10.6.6.6\r\nForwarded: for=10.6.6.6\r\nX-Real-IP: 10.6.6.6\r\nX-Forwarded-Host: admin\r\nConnection: close\r\n\r\n`,
    );
    const h = upstream.seen[before].headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h.forwarded, undefined);
    assert.equal(h['x-real-ip'], undefined);
    assert.equal(h['x-forwarded-host'], undefined);
  });

  it('a base URL with a trailing slash forwards the canonical path exactly once-slashed', async () => {
    const before = upstream.seen.length;
    await raw(
      `GET /crm/a%2a/b+c/?x=%26&x=2 HTTP/1.1\r\nHost: a\r\n${auth()}Connection: close\r\n\r\n`,
    );
    assert.equal(upstream.seen[before].url, '/api/a%2A/b+c/?x=%26&x=2');
  });

  it('a path parameter (";") that servlet routing would cut off is rejected before the upstream', async () => {
    const before = upstream.seen.length;
    const r = await raw(`GET /crm/admin;x=1/ HTTP/1.1\r\nHost: a\r\n${auth()}\r\n`);
    assert.deepEqual(statuses(r.text), ['400']);
    assert.equal(upstream.seen.length, before);
  });

  it('an HTTP/1.1 request without Host is refused with a decision id', async () => {
    const r = await raw(`GET /crm/x HTTP/1.1\r\n${auth()}\r\n`);
    assert.deepEqual(statuses(r.text), ['400']);
    assert.match(r.text, /x-portcullis-decision-id: [0-9a-f-]{36}/i);
  });

  it('an Expect other than 100-continue is refused with 417 and a decision id', async () => {
    const r = await raw(
      `POST /crm/x HTTP/1.1\r\nHost: a\r\n${auth()}Content-Length: 2\r\nExpect: teapot\r\n\r\nhi`,
    );
    assert.deepEqual(statuses(r.text), ['417']);
    assert.match(r.text, /x-portcullis-decision-id: [0-9a-f-]{36}/i);
  });

  it('an unauthenticated caller is never invited (100 Continue) to send its body', async () => {
    const r = await raw(
      `POST /crm/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`,
    );
    assert.deepEqual(statuses(r.text), ['401']);
    assert.equal(r.closed, true, 'the connection stayed open for an unread body');
  });

  it('an authenticated caller gets 100 Continue and its body reaches the upstream only after the decision', async () => {
    const before = upstream.seen.length;
    const r = await raw('', 3000, (s) => {
      s.write(
        `POST /crm/x HTTP/1.1\r\nHost: a\r\n${auth()}Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
      );
      s.once('data', () => s.write('hello'));
    });
    assert.deepEqual(statuses(r.text), ['100', '200']);
    assert.equal(upstream.seen[before].body, 'hello');
    assert.equal(upstream.seen[before].headers.expect, undefined);
  });

  it('a refused call with an unread body closes the connection instead of draining it', async () => {
    const r = await raw(
      `POST /crm/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    );
    assert.deepEqual(statuses(r.text), ['401']);
    assert.equal(r.closed, true);
  });

  it('a body that never completes gets exactly one 408 response', async () => {
    const r = await raw(
      `POST /crm/x HTTP/1.1\r\nHost: a\r\n${auth()}Content-Length: 10\r\n\r\nab`,
      4000,
    );
    assert.deepEqual(statuses(r.text), ['408']);
    assert.match(r.text, /x-portcullis-decision-id: [0-9a-f-]{36}/i);
  });

  it('a caller hanging up mid-body is still recorded (no upstream call)', async () => {
    const before = upstream.seen.length;
    await raw(`POST /crm/x HTTP/1.1\r\nHost: a\r\n${auth()}Content-Length: 10\r\n\r\nab`, 200);
    assert.equal(upstream.seen.length, before);
  });

  it('an upstream that breaks off mid-response never yields a complete-looking answer', async () => {
    const r = await raw(`GET /broken/x HTTP/1.1\r\nHost: a\r\n${auth()}\r\n`);
    assert.deepEqual(statuses(r.text), ['200']);
    assert.equal(r.closed, true);
    const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
    assert.ok(body.length < 100, 'the truncated body was presented as complete');
  });

  it('a credential in the query of a refused call never reaches the decision log', async () => {
    const r = await raw(`GET /crm/x%2F?access_token=${good} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.deepEqual(statuses(r.text), ['400']);
  });

  it('exactly one decision event per call, and no published byte carries the bearer token', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const subject = decisionSubject(enforcerId);
    const signature = good.split('.')[2];
    let count = 0;
    let leaked = false;
    await waitFor(
      async () => {
        const info = await jsm.streams.info(NATS_NAMES.decisionStream, {
          subjects_filter: subject,
        });
        return (info.state.subjects?.[subject] ?? 0) >= calls;
      },
      15_000,
      'decision events',
    );
    // Let stragglers (a second event for one call would arrive late) land before counting.
    await new Promise((r) => setTimeout(r, 500));
    const consumer = await js.consumers.get(NATS_NAMES.decisionStream, {
      filter_subjects: subject,
    });
    const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
    for await (const m of batch) {
      count++;
      if (Buffer.from(m.data).toString('utf8').includes(signature)) leaked = true;
      if (m.info.pending === 0) break;
    }
    assert.equal(leaked, false, 'a published event carries the bearer token');
    assert.equal(count, calls, 'events and calls differ in number');
  });
});
