import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, type HttpResult } from './support/stack';
import { DELETE_DENIED_REASON, readerPolicy } from './support/policies';
import { ForgedTokens, fetchJwks } from './support/tokens';
import { assertDecisionFields, assertNoSecrets } from './support/decisions';

interface Call {
  id: string;
  outcome: 'allow' | 'deny';
  status: number;
  evaluated: boolean;
}

describe('a call through the enforcer', () => {
  let stack: Stack;
  let version: number;
  let reader: string;
  const subject = `fn-reader-${process.pid}`;
  const calls: Call[] = [];
  const secrets: string[] = [];

  const record = (res: HttpResult, outcome: Call['outcome'], evaluated: boolean): string => {
    const id = res.headers.get('x-portcullis-decision-id');
    assert.ok(id, `response ${res.status} carries x-portcullis-decision-id`);
    calls.push({ id, outcome, status: res.status, evaluated });
    return id;
  };

  before(async () => {
    stack = await Stack.start({ label: 'proxy' });
    version = await stack.publish(readerPolicy());
    await stack.waitForEnforcerVersion(stack.enforcer, version);
    reader = await stack.token(subject, { roles: ['crm-reader'] });
    secrets.push(reader, await stack.adminToken());
  });
  after(async () => {
    await stack?.stop();
  });

  it('an allowed call reaches the upstream and returns its answer', async () => {
    const before = await stack.upstreamRequests();
    const res = await stack.proxy('GET', '/crm/customers', { token: reader });
    record(res, 'allow', true);
    assert.equal(res.status, 200, res.text);
    const body = res.body as { items: { email: string }[] };
    assert.equal(body.items.length, 10);
    assert.ok(body.items.some((c) => c.email === 'ada.lovelace@example.com'));
    assert.equal(await stack.upstreamRequests(), before + 1);
  });

  it("the upstream receives the canonical path and never the caller's bearer token", async () => {
    const res = await stack.proxy('GET', '/crm/echo/probe?q=1', {
      token: reader,
      headers: { 'x-trace': 'e2e' },
    });
    record(res, 'allow', true);
    assert.equal(res.status, 200, res.text);
    const echo = res.body as {
      method: string;
      path: string;
      query: Record<string, string>;
      headers: Record<string, string>;
    };
    assert.equal(echo.method, 'GET');
    assert.equal(echo.path, '/echo/probe');
    assert.deepEqual(echo.query, { q: '1' });
    assert.equal(echo.headers['x-trace'], 'e2e');
    assert.equal(
      echo.headers.authorization,
      undefined,
      'Authorization must be stripped before forwarding',
    );
    assert.ok(!JSON.stringify(echo.headers).includes(reader), 'no header carries the token');
  });

  it("a denied call is 403 with the policy's reason and never reaches the upstream", async () => {
    const before = await stack.upstreamRequests();
    const res = await stack.proxy('DELETE', '/crm/customers/1', { token: reader });
    const id = record(res, 'deny', true);
    assert.equal(res.status, 403, res.text);
    const body = res.body as {
      error: { code: string; message: string };
      reasons: string[];
      decision_id: string;
    };
    assert.equal(body.error.code, 'denied');
    assert.deepEqual(body.reasons, [DELETE_DENIED_REASON]);
    assert.equal(body.decision_id, id);
    assert.equal(await stack.upstreamRequests(), before, 'the upstream saw no request');
    const still = await stack.proxy('GET', '/crm/customers/1', { token: reader });
    record(still, 'allow', true);
    assert.equal(still.status, 200, 'customer 1 was not deleted');
  });

  describe('a token that must not authenticate gets 401 and never reaches the upstream', () => {
    let forged: ForgedTokens;
    before(async () => {
      forged = new ForgedTokens(await fetchJwks(stack.issuerUrl), {
        issuer: stack.issuerUrl,
        audience: 'portcullis-enforcer',
        subject,
        claims: { roles: ['crm-reader', 'crm-admin'] },
      });
    });

    const cases: { name: string; token: () => Promise<string | undefined> }[] = [
      { name: 'a call without a token is rejected', token: async () => undefined },
      {
        name: 'an expired token is rejected',
        token: () => stack.token(subject, { roles: ['crm-reader'] }, { ttl: -300 }),
      },
      {
        name: 'a token signed with another key is rejected',
        token: () => forged.signedWithAnotherKey(),
      },
      { name: 'an unsigned token (alg: none) is rejected', token: async () => forged.unsigned() },
      {
        name: 'a token for another audience is rejected',
        token: () => stack.token(subject, { roles: ['crm-reader'] }, { aud: 'some-other-service' }),
      },
      {
        name: 'a token signed with HS256 using the RSA public key is rejected',
        token: () => forged.hs256WithPublicKey(),
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const token = await c.token();
        if (token) secrets.push(token);
        const before = await stack.upstreamRequests();
        const res = await stack.proxy('GET', '/crm/customers', { token });
        const id = record(res, 'deny', false);
        assert.equal(res.status, 401, res.text);
        const body = res.body as { error: { code: string; message: string }; decision_id: string };
        assert.equal(typeof body.error.code, 'string');
        assert.ok(body.error.message.length > 0);
        assert.equal(body.decision_id, id);
        if (token) assert.ok(!res.text.includes(token), 'the error does not echo the token');
        assert.equal(await stack.upstreamRequests(), before, 'the upstream saw no request');
      });
    }
  });

  it('every call appears in GET /v1/decisions exactly once, with the required fields', async () => {
    assert.ok(calls.length >= 10, `expected the earlier tests to make calls, got ${calls.length}`);
    const ids = calls.map((c) => c.id);
    const items = await stack.waitForDecisions(ids);
    // Give a duplicate (a redelivery stored twice) the chance to show up before counting.
    await new Promise((r) => setTimeout(r, 1000));
    const all = await stack.allDecisions();
    for (const call of calls) {
      const matches = all.filter((i) => i.decision_id === call.id);
      assert.equal(matches.length, 1, `decision ${call.id} is stored exactly once`);
      assertDecisionFields(matches[0], {
        decisionId: call.id,
        enforcerId: stack.enforcer.id,
        outcome: call.outcome,
        status: call.status,
        evaluated: call.evaluated,
        bundleVersion: version,
      });
    }
    const bySubject = await stack.allDecisions({ subject });
    const evaluated = calls
      .filter((c) => c.evaluated)
      .map((c) => c.id)
      .sort();
    const stored = bySubject
      .map((i) => i.decision_id as string)
      .filter((id) => evaluated.includes(id))
      .sort();
    assert.deepEqual(stored, evaluated, 'the subject filter finds every evaluated call');
    const denied = await stack.allDecisions({ outcome: 'deny', subject });
    const deniedIds = new Set(denied.map((i) => i.decision_id as string));
    for (const c of calls.filter((k) => k.evaluated)) {
      assert.equal(deniedIds.has(c.id), c.outcome === 'deny', `outcome filter on ${c.id}`);
    }
    assert.ok(denied.length > 0, 'the outcome filter found the denied call');
    assert.ok(denied.every((i) => i.outcome === 'deny'));
    assert.ok(items.length >= calls.length);
  });

  it('no decision record, database file or log line contains a bearer token', async () => {
    const all = await stack.allDecisions();
    assert.ok(all.length > 0);
    assertNoSecrets(JSON.stringify(all), secrets, 'GET /v1/decisions');
    for (const name of readdirSync(stack.dataDir).filter((n) => n.startsWith('control-plane.db'))) {
      assertNoSecrets(
        readFileSync(join(stack.dataDir, name)).toString('latin1'),
        secrets,
        `SQLite file ${name}`,
      );
    }
    assertNoSecrets(stack.logs().join('\n'), secrets, "the apps' logs");
  });
});
