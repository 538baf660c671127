import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSampleUpstream, type SampleUpstreamServer } from './sample-upstream.server';
import { SEED_CUSTOMERS, luhnValid } from './customers.data';

describe('sample upstream', () => {
  let upstream: SampleUpstreamServer;
  before(async () => {
    upstream = await createSampleUpstream({ port: 0 });
  });
  after(async () => {
    await upstream.stop();
  });

  it('every seeded card number passes the Luhn check, and the check rejects a corrupted one', () => {
    for (const c of SEED_CUSTOMERS)
      assert.ok(luhnValid(c.card_number), `${c.id}: ${c.card_number}`);
    assert.equal(luhnValid('4111 1111 1111 1112'), false);
    assert.ok(SEED_CUSTOMERS.length >= 10);
  });

  it('lists, reads and deletes customers, and a deleted customer is gone', async () => {
    const list = (await (await fetch(`${upstream.url}/customers`)).json()) as {
      items: { id: string }[];
    };
    assert.equal(list.items.length, SEED_CUSTOMERS.length);
    const one = await fetch(`${upstream.url}/customers/2`);
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { email: string }).email, 'grace.hopper@example.org');
    const del = await fetch(`${upstream.url}/customers/2`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await fetch(`${upstream.url}/customers/2`)).status, 404);
    assert.equal((await fetch(`${upstream.url}/customers`, { method: 'POST' })).status, 405);
  });

  it('/echo returns the method, path, query, headers and body it received', async () => {
    const res = await fetch(`${upstream.url}/echo/a/b?x=1&x=2&y=z`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-probe': 'yes' },
      body: JSON.stringify({ hello: 'world' }),
    });
    assert.equal(res.status, 200);
    const echo = (await res.json()) as Record<string, unknown>;
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.path, '/echo/a/b');
    assert.deepEqual(echo.query, { x: ['1', '2'], y: 'z' });
    assert.equal((echo.headers as Record<string, string>)['x-probe'], 'yes');
    assert.deepEqual(echo.body, { hello: 'world' });
  });

  it('counts every request except reads of the counter itself', async () => {
    const stats = async () =>
      ((await (await fetch(`${upstream.url}/__stats`)).json()) as { requests: number }).requests;
    const before = await stats();
    assert.equal(await stats(), before);
    await (await fetch(`${upstream.url}/customers/1`)).arrayBuffer();
    await (await fetch(`${upstream.url}/nowhere`)).arrayBuffer();
    assert.equal(await stats(), before + 2);
    assert.equal(upstream.requests, before + 2);
  });
});
