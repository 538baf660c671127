import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, createSecretKey } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import { connect as connectNats } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { SignJWT } from 'jose';
import {
  NATS_NAMES,
  decisionSubject,
  parseDecisionEvent,
  type DecisionEvent,
} from '@portcullis/contracts';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, TokenIssuer, freePort, waitFor } from '@portcullis/testing';
import type { EnforcerConfig } from './config/enforcer.config';
import { createEnforcer, type EnforcerApp } from './enforcer.app';
import { activate, compileRego, uploadVersion } from '../test/policy-bundle.fixture';
import { RecordingUpstream } from '../test/recording-upstream.fixture';
import { testEnforcerConfig } from '../test/enforcer-config.fixture';

const POLICY = `package portcullis

import rego.v1

default decision := {"allow": false, "reasons": ["no rule allows this call"]}

decision := {"allow": true, "reasons": []} if {
	input.identity.claims.team == "billing"
	not startswith(input.request.path, "/admin")
	not _too_large
}

decision := {"allow": false, "reasons": ["amount above 100 needs approval"]} if _too_large

_too_large if input.request.body.amount > 100
`;

const quiet = new Logger('test', 'error', () => undefined);

describe('enforcer proxy (real nats-server, opa-compiled policy, token issuer, upstream)', () => {
  let nats: NatsServerProcess;
  let nc: NatsConnection;
  let issuer: TokenIssuer;
  let upstream: RecordingUpstream;
  let enforcer: EnforcerApp;
  let base: string;
  let good: string;
  const ids: string[] = [];
  const enforcerId = 'itest-proxy';

  async function call(
    path: string,
    init: RequestInit & { token?: string | null } = {},
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? good : init.token;
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(`${base}${path}`, { ...init, headers });
    const id = res.headers.get('x-portcullis-decision-id');
    assert.ok(id, `response to ${path} has no x-portcullis-decision-id`);
    ids.push(id);
    return res;
  }

  /** Sends bytes as they are (fetch would fix what we want to be broken) and returns the raw response. */
  function raw(request: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const s = connectTcp(enforcer.proxyPort, '127.0.0.1', () => s.write(request));
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString('latin1')));
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.setTimeout(5000, () => s.destroy(new Error('raw request timed out')));
    }).then((text) => {
      const id = /x-portcullis-decision-id: ([0-9a-f-]{36})/i.exec(text)?.[1];
      assert.ok(id, `raw response has no decision id: ${text.slice(0, 200)}`);
      ids.push(id);
      return text;
    });
  }

  before(async () => {
    nats = await NatsServerProcess.start();
    nc = await connectNats({ servers: nats.url });
    issuer = new TokenIssuer({ port: 0, audience: 'portcullis-enforcer' });
    await issuer.start();
    upstream = new RecordingUpstream();
    await upstream.start();
    const basics = {
      enforcerId,
      bundle: 'proxytest',
      natsUrl: nats.url,
      issuer: issuer.issuer,
      upstreamUrl: upstream.url,
    };
    const config: EnforcerConfig = testEnforcerConfig(basics, {
      connections: [
        {
          name: 'crm',
          type: 'http',
          url: new URL(`${upstream.url}/api`),
          labels: { team: 'sales' },
        },
        {
          name: 'down',
          type: 'http',
          url: new URL(`http://127.0.0.1:${await freePort()}`),
          labels: {},
        },
      ],
      maxHeaderBytes: 4096,
      requestTimeoutMs: 5000,
      upstreamTimeoutMs: 500,
    });
    enforcer = createEnforcer(config, { logger: quiet });
    await enforcer.start();
    base = `http://127.0.0.1:${enforcer.proxyPort}`;
    good = await issuer.mint({ sub: 'fn-billing', claims: { team: 'billing' } });
  });

  after(async () => {
    await enforcer?.stop();
    await nc?.close();
    await upstream?.stop();
    await issuer?.stop();
    await nats?.stop();
  });

  it('without a policy every authenticated call fails closed with 503 and readyz says not ready', async () => {
    await waitFor(() => enforcer.nats.isConnected(), 10_000, 'nats connection');
    const res = await call('/crm/customers');
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'no_policy');
    assert.equal(upstream.seen.length, 0);
    const ready = await fetch(`http://127.0.0.1:${enforcer.adminPort}/readyz`);
    assert.equal(ready.status, 503);
    const report = (await ready.json()) as {
      ready: boolean;
      components: Record<string, { state: string }>;
    };
    assert.equal(report.ready, false);
    assert.equal(report.components['bundle-watcher'].state, 'starting');
    assert.equal(report.components.nats.state, 'ok');
  });

  it('activating a compiled policy makes the running enforcer ready', async () => {
    const pointer = await uploadVersion(nc, 'proxytest', 1, compileRego({ 'policy.rego': POLICY }));
    await activate(nc, pointer);
    await waitFor(() => enforcer.watcher.current()?.version === 1, 10_000, 'bundle version 1');
    const ready = await fetch(`http://127.0.0.1:${enforcer.adminPort}/readyz`);
    assert.equal(ready.status, 200);
  });

  it('an allowed call reaches the upstream at <url>/<rest> without the caller credentials', async () => {
    const before = upstream.seen.length;
    const res = await call('/crm/customers/42?fields=name&fields=email', {
      headers: {
        cookie: 'session=abc',
        'x-portcullis-subject': 'spoofed',
        'x-forwarded-for': '10.1.2.3',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(
      res.headers.get('x-upstream-hop'),
      null,
      'a hop-by-hop header named by the upstream Connection leaked',
    );
    const seen = upstream.seen.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].url, '/api/customers/42?fields=name&fields=email');
    assert.equal(seen[0].headers.authorization, undefined);
    assert.equal(seen[0].headers.cookie, undefined);
    assert.equal(seen[0].headers['x-portcullis-subject'], undefined);
    assert.equal(
      seen[0].headers['x-forwarded-for'],
      '127.0.0.1',
      'a caller-sent X-Forwarded-For was kept',
    );
    assert.equal(seen[0].headers['x-forwarded-proto'], 'http');
    assert.equal(
      seen[0].headers['x-portcullis-decision-id'],
      res.headers.get('x-portcullis-decision-id'),
    );
    assert.equal(seen[0].headers.host, `127.0.0.1:${upstream.port}`);
  });

  it('the upstream receives exactly the canonical path the policy saw', async () => {
    const before = upstream.seen.length;
    const res = await call('/crm/%63ustomers/%7e42/a%2a');
    assert.equal(res.status, 200);
    assert.equal(upstream.seen.slice(before)[0].url, '/api/customers/~42/a%2A');
  });

  it('a denied call is 403 with the policy reasons and never reaches the upstream', async () => {
    const before = upstream.seen.length;
    const token = await issuer.mint({ sub: 'fn-marketing', claims: { team: 'marketing' } });
    const res = await call('/crm/customers', { token });
    assert.equal(res.status, 403);
    const body = (await res.json()) as {
      error: { code: string };
      reasons: string[];
      decision_id: string;
    };
    assert.equal(body.error.code, 'denied');
    assert.deepEqual(body.reasons, ['no rule allows this call']);
    assert.equal(body.decision_id, res.headers.get('x-portcullis-decision-id'));
    assert.equal(upstream.seen.length, before);
  });

  it('a JSON body within the limit is parsed for the policy and forwarded unchanged', async () => {
    const before = upstream.seen.length;
    const denied = await call('/crm/payments', {
      method: 'POST',
      body: '{"amount": 500}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(denied.status, 403);
    assert.deepEqual(((await denied.json()) as { reasons: string[] }).reasons, [
      'amount above 100 needs approval',
    ]);
    assert.equal(upstream.seen.length, before, 'a denied body was sent upstream');
    const allowed = await call('/crm/payments', {
      method: 'POST',
      body: '{"amount": 5}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(allowed.status, 200);
    assert.equal(upstream.seen.at(-1)?.body, '{"amount": 5}');
    assert.equal(upstream.seen.at(-1)?.headers['content-length'], '13');
  });

  it('a body over the limit is 413 and never reaches the upstream', async () => {
    const before = upstream.seen.length;
    const res = await call('/crm/payments', { method: 'POST', body: 'x'.repeat(2048) });
    assert.equal(res.status, 413);
    assert.equal(upstream.seen.length, before);
  });

  it('a chunked body over the limit (no Content-Length) is 413 and never reaches the upstream', async () => {
    const before = upstream.seen.length;
    const chunk = 'x'.repeat(1500);
    const text = await raw(
      `POST /crm/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${good}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.equal(upstream.seen.length, before);
  });

  it('headers over the limit are 431', async () => {
    const text = await raw(
      `GET /crm/customers HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 431 /);
  });

  const ambiguous: [string, string][] = [
    ['two Host headers', 'GET /crm/customers HTTP/1.1\r\nHost: a\r\nHost: b\r\n'],
    [
      'an absolute-form target that disagrees with Host',
      'GET http://elsewhere/crm/customers HTTP/1.1\r\nHost: a\r\n',
    ],
    [
      'Transfer-Encoding on HTTP/1.0',
      'POST /crm/customers HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n',
    ],
    ['an encoded slash', 'GET /crm/customers%2F..%2Fadmin HTTP/1.1\r\nHost: a\r\n'],
    ['a dot-dot segment', 'GET /crm/customers/../admin HTTP/1.1\r\nHost: a\r\n'],
    ['an encoded NUL', 'GET /crm/customers%00 HTTP/1.1\r\nHost: a\r\n'],
  ];
  for (const [what, head] of ambiguous) {
    it(`a request with ${what} is rejected with 400 and never reaches the upstream`, async () => {
      const before = upstream.seen.length;
      const text = await raw(`${head}Authorization: Bearer ${good}\r\nConnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.[01] 400 /);
      assert.match(text, /"code":"bad_request"/);
      assert.equal(upstream.seen.length, before);
    });
  }

  it('an unknown method is 405', async () => {
    const text = await raw(
      `PROPFIND /crm/customers HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${good}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 405 /);
  });

  it('an unknown connection is 404 for an authenticated caller', async () => {
    const res = await call('/nosuch/x');
    assert.equal(res.status, 404);
    assert.equal(
      ((await res.json()) as { error: { code: string } }).error.code,
      'unknown_connection',
    );
  });

  it('an unknown connection does not reveal itself to an unauthenticated caller', async () => {
    const res = await call('/nosuch/x', { token: null });
    assert.equal(res.status, 401);
  });

  it('an unreachable upstream is 502 upstream_failed', async () => {
    const res = await call('/down/x');
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'upstream_failed');
  });

  it('an upstream that does not answer in time is 504 upstream_failed', async () => {
    const res = await call('/crm/hang');
    assert.equal(res.status, 504);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'upstream_failed');
  });

  describe('every token failure is 401 and never reaches the upstream', () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const cases: [string, () => Promise<string | null>, string][] = [
      ['a missing token', async () => null, 'token_missing'],
      [
        'an expired token',
        () => issuer.mint({ sub: 'fn-billing', claims: { team: 'billing' }, ttl: -120 }),
        'token_expired',
      ],
      [
        'a token whose payload was altered after signing',
        async () => {
          const [h, , s] = (
            await issuer.mint({ sub: 'fn-billing', claims: { team: 'billing' } })
          ).split('.');
          const payload = b64({
            sub: 'fn-admin',
            team: 'billing',
            iss: issuer.issuer,
            aud: 'portcullis-enforcer',
            exp: Math.floor(Date.now() / 1000) + 300,
          });
          return `${h}.${payload}.${s}`;
        },
        'signature_invalid',
      ],
      [
        'an alg:none token',
        async () =>
          `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'fn-billing', team: 'billing', iss: issuer.issuer, aud: 'portcullis-enforcer', exp: Math.floor(Date.now() / 1000) + 300 })}.`,
        'algorithm_not_allowed',
      ],
      [
        'a token for another audience',
        () =>
          issuer.mint({ sub: 'fn-billing', claims: { team: 'billing' }, audience: 'someone-else' }),
        'audience_mismatch',
      ],
      [
        'a token signed with HS256 using the RSA public key',
        async () => {
          const pem = createPublicKey({
            key: issuer.publicKeyJwk as import('node:crypto').JsonWebKey,
            format: 'jwk',
          }).export({ type: 'spki', format: 'pem' });
          return new SignJWT({ team: 'billing' })
            .setProtectedHeader({ alg: 'HS256', kid: issuer.publicKeyJwk.kid })
            .setIssuer(issuer.issuer)
            .setSubject('fn-billing')
            .setAudience('portcullis-enforcer')
            .setExpirationTime('5m')
            .sign(createSecretKey(Buffer.from(pem)));
        },
        'algorithm_not_allowed',
      ],
    ];
    for (const [what, token, code] of cases) {
      it(`${what} is rejected with 401 ${code}`, async () => {
        const before = upstream.seen.length;
        const res = await call('/crm/customers', { token: await token() });
        assert.equal(res.status, 401);
        const body = (await res.json()) as {
          error: { code: string; message: string };
          decision_id: string;
        };
        assert.equal(body.error.code, code);
        assert.ok(body.error.message.length > 0);
        assert.ok(body.decision_id);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
        assert.equal(upstream.seen.length, before);
      });
    }
  });

  it('metrics count decisions by outcome and code on the admin port', async () => {
    const text = await (await fetch(`http://127.0.0.1:${enforcer.adminPort}/metrics`)).text();
    assert.match(
      text,
      /portcullis_enforcer_decisions_total\{outcome="allow",code="policy"\} [1-9]/,
    );
    assert.match(
      text,
      /portcullis_enforcer_decisions_total\{outcome="deny",code="unauthenticated"\} [1-9]/,
    );
    assert.match(text, /portcullis_enforcer_decisions_total\{outcome="error",code="no_policy"\} 1/);
    assert.match(
      text,
      /portcullis_enforcer_decisions_total\{outcome="error",code="upstream_failed"\} 2/,
    );
    assert.match(text, /portcullis_enforcer_bundle_version\{bundle="proxytest"\} 1/);
    assert.match(text, /portcullis_enforcer_evaluation_seconds_count [1-9]/);
    assert.match(text, /portcullis_enforcer_proxy_seconds_count\{outcome="allow"\} [1-9]/);
    assert.match(text, /portcullis_enforcer_events_dropped_total/);
    assert.match(text, /portcullis_enforcer_event_queue_depth/);
    const health = await fetch(`http://127.0.0.1:${enforcer.adminPort}/healthz`);
    assert.equal(health.status, 200);
  });

  it('the proxy port serves no admin endpoints', async () => {
    const res = await call('/metrics', { token: null });
    assert.equal(res.status, 401);
  });

  it('exactly one decision event per call lands on the stream, without credentials', async () => {
    const expected = new Set(ids);
    assert.equal(expected.size, ids.length, 'a decision id was reused');
    const js = jetstream(nc);
    const events = new Map<string, DecisionEvent>();
    let count = 0;
    await waitFor(
      async () => {
        const consumer = await js.consumers.get(NATS_NAMES.decisionStream, {
          filter_subjects: decisionSubject(enforcerId),
        });
        const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
        events.clear();
        count = 0;
        for await (const m of batch) {
          const e = parseDecisionEvent(m.json());
          events.set(e.decision_id, e);
          count++;
          if (m.info.pending === 0) break;
        }
        return count >= expected.size;
      },
      15_000,
      'decision events',
    );
    assert.equal(count, expected.size, 'events and calls differ in number');
    assert.deepEqual(new Set(events.keys()), expected);
    for (const e of events.values()) {
      const text = JSON.stringify(e);
      assert.doesNotMatch(
        text,
        /Bearer eyJ|eyJ[A-Za-z0-9_-]{10,}\./,
        `event ${e.decision_id} carries a token`,
      );
      assert.doesNotMatch(text, /session=abc/);
      assert.equal(e.enforcer_id, enforcerId);
    }
    const allowed = [...events.values()].find(
      (e) => e.outcome === 'allow' && e.request.path === '/customers/42',
    );
    assert.ok(allowed);
    assert.equal(allowed.bundle.version, 1);
    assert.equal(allowed.status, 200);
    assert.deepEqual((allowed.input as { request: { query: unknown } }).request.query, {
      fields: ['name', 'email'],
    });
    const denied401 = [...events.values()].filter((e) => e.status === 401);
    assert.ok(denied401.length > 0, 'the refused tokens were recorded');
    assert.ok(denied401.every((e) => e.outcome === 'deny' && e.error?.code === 'unauthenticated'));
  });
});
