import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { createSampleUpstream, type SampleUpstreamServer } from './sample-upstream.server';
import {
  SAMPLE_CARD_NUMBERS,
  SAMPLE_EMAILS,
  SAMPLE_IBANS,
  SAMPLE_PHONES,
  SAMPLE_SSNS,
  SEED_CUSTOMERS,
  generatedCustomer,
  ibanValid,
  luhnValid,
  type Customer,
} from './customers.data';
import { loadSampleUpstreamConfig } from './sample-upstream.config';

/** A raw HTTP exchange: fetch would decode Content-Encoding and hide the framing headers. */
interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function stats(url: string): Promise<{ requests: number; unauthorized: number }> {
  return (await (await fetch(`${url}/__stats`)).json()) as {
    requests: number;
    unauthorized: number;
  };
}

describe('sample upstream data', () => {
  it('every seeded card number passes the Luhn check, and the check rejects a corrupted one', () => {
    for (const c of SEED_CUSTOMERS)
      assert.ok(luhnValid(c.card_number), `${c.id}: ${c.card_number}`);
    assert.equal(luhnValid('4111 1111 1111 1112'), false);
    assert.ok(SEED_CUSTOMERS.length >= 10);
  });

  it('seeded card numbers come plain, spaced and dashed', () => {
    assert.ok(SAMPLE_CARD_NUMBERS.some((n) => /^\d+$/.test(n)));
    assert.ok(SAMPLE_CARD_NUMBERS.some((n) => / /.test(n)));
    assert.ok(SAMPLE_CARD_NUMBERS.some((n) => /-/.test(n)));
  });

  it('every seeded IBAN passes the mod-97 check, and the check rejects a changed digit', () => {
    for (const iban of SAMPLE_IBANS) assert.ok(ibanValid(iban), iban);
    assert.equal(ibanValid('GB82 WEST 1234 5698 7654 33'), false);
  });

  it('the sample PII lists hold one well-formed value per seeded customer', () => {
    for (const list of [SAMPLE_EMAILS, SAMPLE_SSNS, SAMPLE_PHONES]) {
      assert.equal(new Set(list).size, SEED_CUSTOMERS.length);
    }
    for (const e of SAMPLE_EMAILS) assert.match(e, /^[^@\s]+@example\.[a-z]+$/);
    for (const s of SAMPLE_SSNS) assert.match(s, /^(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$/);
  });

  it('generated customers are deterministic and carry valid card numbers, SSNs and IBANs', () => {
    assert.deepEqual(generatedCustomer(42), generatedCustomer(42));
    for (let i = 0; i < 300; i++) {
      const c = generatedCustomer(i);
      assert.ok(luhnValid(c.card_number), c.card_number);
      assert.ok(ibanValid(c.iban), c.iban);
      assert.match(c.ssn, /^(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$/);
    }
    const formats = [0, 1, 2].map((i) => generatedCustomer(i).card_number);
    assert.match(formats[0], /^\d{16}$/);
    assert.match(formats[1], /^\d{4} \d{4} \d{4} \d{4}$/);
    assert.match(formats[2], /^\d{4}-\d{4}-\d{4}-\d{4}$/);
  });
});

describe('sample upstream', () => {
  let upstream: SampleUpstreamServer;
  before(async () => {
    upstream = await createSampleUpstream({ port: 0 });
  });
  after(async () => {
    await upstream.stop();
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
    assert.equal((await fetch(`${upstream.url}/customers`, { method: 'PUT' })).status, 405);
  });

  it('creates and updates a customer, and names the bad field of a bad body', async () => {
    const res = await fetch(`${upstream.url}/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Hedy Lamarr', email: 'hedy@example.com' }),
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as Customer;
    assert.equal(res.headers.get('location'), `/customers/${created.id}`);
    assert.equal(created.email, 'hedy@example.com');
    const patched = await fetch(`${upstream.url}/customers/${created.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ country: 'AT' }),
    });
    assert.equal(((await patched.json()) as Customer).country, 'AT');
    const read = (await (
      await fetch(`${upstream.url}/customers/${created.id}`)
    ).json()) as Customer;
    assert.deepEqual([read.name, read.country], ['Hedy Lamarr', 'AT']);

    const bad = await fetch(`${upstream.url}/customers`, {
      method: 'POST',
      body: JSON.stringify({ name: 'X', password: 'p' }),
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /password/);
    const nameless = await fetch(`${upstream.url}/customers`, { method: 'POST', body: '{}' });
    assert.equal(nameless.status, 400);
  });

  it('a customer note is text/plain with the customer personal data in sentences', async () => {
    const res = await fetch(`${upstream.url}/customers/1/notes`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const ada = SEED_CUSTOMERS[0];
    for (const v of [ada.email, ada.phone, ada.ssn, ada.iban, ada.card_number]) {
      assert.ok(text.includes(v), v);
    }
    assert.equal((await fetch(`${upstream.url}/customers/nobody/notes`)).status, 404);
  });

  it('an export streams exactly `limit` generated customers without a Content-Length', async () => {
    const res = await raw(`${upstream.url}/customers/export?limit=250`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const rows = JSON.parse(res.body.toString('utf8')) as Customer[];
    assert.equal(rows.length, 250);
    assert.deepEqual(rows[249], generatedCustomer(249));
    assert.deepEqual(
      JSON.parse((await raw(`${upstream.url}/customers/export?limit=0`)).body.toString()),
      [],
    );
  });

  it('an export without a limit returns its large default, and a bad limit is a 400', async () => {
    const rows = (await (await fetch(`${upstream.url}/customers/export`)).json()) as unknown[];
    assert.equal(rows.length, 10_000);
    for (const q of ['limit=abc', 'limit=-1', 'limit=5&limit=6', 'limit=1000001']) {
      assert.equal((await fetch(`${upstream.url}/customers/export?${q}`)).status, 400, q);
    }
  });

  it('compresses with the encoding asked for, and says so in Content-Encoding', async () => {
    const decoders = { gzip: gunzipSync, deflate: inflateSync, br: brotliDecompressSync };
    for (const [encoding, decode] of Object.entries(decoders)) {
      const res = await raw(`${upstream.url}/customers/1?encoding=${encoding}`);
      assert.equal(res.headers['content-encoding'], encoding);
      assert.equal(res.headers['content-length'], undefined);
      const customer = JSON.parse(decode(res.body).toString('utf8')) as Customer;
      assert.equal(customer.card_number, SEED_CUSTOMERS[0].card_number);
    }
    const plain = await raw(`${upstream.url}/customers/1`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(Number(plain.headers['content-length']), plain.body.length);
    assert.equal((await raw(`${upstream.url}/customers/1?encoding=zstd`)).status, 400);
  });

  it('encoding=auto negotiates from Accept-Encoding and falls back to identity', async () => {
    const negotiate = async (accept: string) =>
      (
        await raw(`${upstream.url}/customers/export?limit=3&encoding=auto`, {
          headers: { 'accept-encoding': accept },
        })
      ).headers['content-encoding'];
    assert.equal(await negotiate('gzip, deflate, br'), 'br');
    assert.equal(await negotiate('deflate, gzip;q=0.5'), 'gzip');
    assert.equal(await negotiate('br;q=0, deflate'), 'deflate');
    assert.equal(await negotiate('identity'), undefined);
  });

  it('/chunked cuts the customer list into pieces of the asked size', async () => {
    const res = await new Promise<{
      pieces: number;
      text: string;
      headers: Record<string, unknown>;
    }>((resolve, reject) => {
      httpRequest(`${upstream.url}/chunked?chunk=5&delay_ms=1`, (r) => {
        let pieces = 0;
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => {
          pieces++;
          chunks.push(c);
        });
        r.on('end', () =>
          resolve({ pieces, text: Buffer.concat(chunks).toString(), headers: r.headers }),
        );
      })
        .on('error', reject)
        .end();
    });
    const parsed = JSON.parse(res.text) as { items: Customer[] };
    assert.ok(parsed.items.length > 0);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    // With a pause between writes, each 5-byte piece arrives on its own (a few may coalesce).
    assert.ok(res.pieces > res.text.length / 5 / 4, `${res.pieces} pieces`);
  });

  it('/large streams about N MiB of JSON with card numbers and no Content-Length', async () => {
    const res = await raw(`${upstream.url}/large?mb=2`);
    assert.equal(res.headers['content-length'], undefined);
    const size = res.body.length;
    assert.ok(size >= 2 * 1_048_576 && size < 2 * 1_048_576 + 1024, `${size} bytes`);
    const doc = JSON.parse(res.body.toString('utf8')) as { items: Customer[] };
    assert.ok(doc.items.length > 1000);
    assert.ok(doc.items.every((c) => luhnValid(c.card_number)));
    for (const q of ['mb=0', 'mb=101', 'mb=x']) {
      assert.equal((await fetch(`${upstream.url}/large?${q}`)).status, 400, q);
    }
  });

  it('a caller hanging up in the middle of /large leaves the server serving', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${upstream.url}/large?mb=100`, (r) => {
        r.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) =>
        err.code === 'ECONNRESET' ? resolve() : reject(err),
      );
      req.end();
    });
    assert.equal((await fetch(`${upstream.url}/healthz`)).status, 200);
  });

  it('DELETE /customers removes the whole collection (the policy must be what stops it)', async () => {
    const other = await createSampleUpstream({ port: 0 });
    try {
      const res = await fetch(`${other.url}/customers`, { method: 'DELETE' });
      assert.deepEqual(await res.json(), { deleted: SEED_CUSTOMERS.length });
      const list = (await (await fetch(`${other.url}/customers`)).json()) as { items: unknown[] };
      assert.equal(list.items.length, 0);
    } finally {
      await other.stop();
    }
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
    const first = (await stats(upstream.url)).requests;
    assert.equal((await stats(upstream.url)).requests, first);
    await (await fetch(`${upstream.url}/customers/1`)).arrayBuffer();
    await (await fetch(`${upstream.url}/nowhere`)).arrayBuffer();
    assert.equal((await stats(upstream.url)).requests, first + 2);
    assert.equal(upstream.requests, first + 2);
  });
});

describe('sample upstream with an expected credential', () => {
  const cases: {
    name: string;
    expect: Parameters<typeof createSampleUpstream>[0]['expect'];
    good: Record<string, string>;
    bad: Record<string, string>[];
  }[] = [
    {
      name: 'bearer',
      expect: { bearer: 'upstream-secret' },
      good: { authorization: 'Bearer upstream-secret' },
      bad: [
        {},
        { authorization: 'Bearer caller-token' },
        { authorization: 'Bearer upstream-secret2' },
        { authorization: 'Basic upstream-secret' },
      ],
    },
    {
      name: 'basic',
      expect: { basic: { user: 'svc', password: 'pw:1' } },
      good: { authorization: `Basic ${Buffer.from('svc:pw:1').toString('base64')}` },
      bad: [
        {},
        { authorization: `Basic ${Buffer.from('svc:pw').toString('base64')}` },
        { authorization: 'Bearer pw:1' },
      ],
    },
    {
      name: 'header',
      expect: { header: { name: 'x-api-key', value: 'k-123' } },
      good: { 'x-api-key': 'k-123' },
      bad: [{}, { 'x-api-key': 'k-1234' }, { authorization: 'Bearer k-123' }],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: calls without exactly the credential get 401 and are counted`, async () => {
      const upstream = await createSampleUpstream({ port: 0, expect: c.expect });
      try {
        for (const headers of c.bad) {
          const res = await fetch(`${upstream.url}/customers`, { headers });
          assert.equal(res.status, 401, JSON.stringify(headers));
        }
        const ok = await fetch(`${upstream.url}/echo`, { headers: c.good });
        assert.equal(ok.status, 200);
        const echoed = (await ok.json()) as { headers: Record<string, string> };
        for (const [k, v] of Object.entries(c.good)) assert.equal(echoed.headers[k], v);
        assert.deepEqual(await stats(upstream.url), {
          requests: c.bad.length + 1,
          unauthorized: c.bad.length,
        });
        assert.equal(upstream.unauthorized, c.bad.length);
        assert.equal((await fetch(`${upstream.url}/healthz`)).status, 200);
      } finally {
        await upstream.stop();
      }
    });
  }
});

describe('sample upstream configuration', () => {
  it('reads the expected credential from the environment', () => {
    assert.deepEqual(loadSampleUpstreamConfig({}).expect, {});
    assert.deepEqual(loadSampleUpstreamConfig({ SAMPLE_UPSTREAM_EXPECT_BEARER: 't0k' }).expect, {
      bearer: 't0k',
    });
    assert.deepEqual(loadSampleUpstreamConfig({ SAMPLE_UPSTREAM_EXPECT_BASIC: 'u:p:w' }).expect, {
      basic: { user: 'u', password: 'p:w' },
    });
    assert.deepEqual(
      loadSampleUpstreamConfig({ SAMPLE_UPSTREAM_EXPECT_HEADER: 'X-Api-Key: k' }).expect,
      {
        header: { name: 'x-api-key', value: 'k' },
      },
    );
  });

  it('a malformed or conflicting credential setting names its key', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ SAMPLE_UPSTREAM_EXPECT_BEARER: 'a b' }, /SAMPLE_UPSTREAM_EXPECT_BEARER/],
      [{ SAMPLE_UPSTREAM_EXPECT_BASIC: 'nopassword' }, /SAMPLE_UPSTREAM_EXPECT_BASIC/],
      [
        { SAMPLE_UPSTREAM_EXPECT_BEARER: 't', SAMPLE_UPSTREAM_EXPECT_BASIC: 'u:p' },
        /SAMPLE_UPSTREAM_EXPECT_BASIC/,
      ],
      [{ SAMPLE_UPSTREAM_EXPECT_HEADER: 'no-value' }, /SAMPLE_UPSTREAM_EXPECT_HEADER/],
      [{ SAMPLE_UPSTREAM_EXPECT_HEADER: 'bad name:v' }, /SAMPLE_UPSTREAM_EXPECT_HEADER/],
    ];
    for (const [env, key] of bad) assert.throws(() => loadSampleUpstreamConfig(env), key);
  });
});
