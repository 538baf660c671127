import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Masker, parseMaskObligation, type MaskSpec } from '@portcullis/masking';
import { ResponseMasker } from './response.masker';

const CARD = '4111 1111 1111 1111';
const CUSTOMERS = { customers: [{ name: 'Ada', card_number: CARD, email: 'ada@example.com' }] };

/** What one upstream route answers: status, headers and body chunks (written one by one). */
interface Route {
  headers: Record<string, string>;
  chunks: Buffer[];
}

function spec(value: unknown): MaskSpec {
  const parsed = parseMaskObligation(value);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.spec;
}

describe('response masking on real upstream responses', () => {
  let server: Server;
  let base = '';
  const routes = new Map<string, Route>();
  const json = Buffer.from(JSON.stringify(CUSTOMERS));
  const masker = new ResponseMasker(new Masker(Buffer.alloc(32, 3)), {
    maxBytes: 64 * 1024,
    oversize: 'fail',
  });
  const truncating = new ResponseMasker(new Masker(Buffer.alloc(32, 3)), {
    maxBytes: 64 * 1024,
    oversize: 'truncate',
  });

  before(async () => {
    routes.set('/plain', {
      headers: { 'content-type': 'application/json', etag: '"v1"', 'content-md5': 'x' },
      chunks: [json],
    });
    routes.set('/gzip', {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      chunks: [gzipSync(json)],
    });
    routes.set('/deflate', {
      headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' },
      chunks: [deflateSync(json)],
    });
    routes.set('/br', {
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      chunks: [brotliCompressSync(json)],
    });
    routes.set('/chunked', {
      headers: { 'content-type': 'application/json' },
      chunks: [json.subarray(0, 10), json.subarray(10, 40), json.subarray(40)],
    });
    routes.set('/text', {
      headers: { 'content-type': 'text/plain' },
      chunks: [Buffer.from(`call ada@example.com, card ${CARD}`)],
    });
    routes.set('/zstd', {
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' },
      chunks: [json],
    });
    routes.set('/binary', {
      headers: { 'content-type': 'application/octet-stream' },
      chunks: [Buffer.from(CARD)],
    });
    routes.set('/utf16', {
      headers: { 'content-type': 'text/plain; charset=utf-16le' },
      chunks: [Buffer.from(`card ${CARD}`, 'utf16le')],
    });
    routes.set('/utf16-undeclared', {
      headers: { 'content-type': 'application/json' },
      chunks: [Buffer.from(JSON.stringify({ card: CARD }), 'utf16le')],
    });
    routes.set('/duplicate-keys', {
      headers: { 'content-type': 'application/json' },
      chunks: [Buffer.from(`{"note":"${CARD}","note":"ok"}`)],
    });
    const line = Buffer.from(`{"card":"${CARD}"},\n`);
    routes.set('/large', {
      headers: { 'content-type': 'text/plain' },
      chunks: Array.from({ length: 200 }, () => Buffer.concat(Array(40).fill(line) as Buffer[])),
    });
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20));
    routes.set('/bomb', {
      headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
      chunks: [bomb],
    });
    server = createServer((req, res) => {
      const route = routes.get(req.url ?? '');
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, route.headers);
      const write = (i: number) => {
        if (i === route.chunks.length) {
          res.end();
          return;
        }
        if (res.write(route.chunks[i])) setImmediate(() => write(i + 1));
        else res.once('drain', () => write(i + 1));
      };
      write(0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const fetchRaw = (path: string) =>
    new Promise<IncomingMessage>((resolve, reject) =>
      get(`${base}${path}`, resolve).on('error', reject),
    );

  for (const path of ['/plain', '/gzip', '/deflate', '/br', '/chunked']) {
    it(`a JSON response (${path.slice(1)}) leaves masked, uncoded, with true headers`, async () => {
      const out = await masker.mask(
        await fetchRaw(path),
        spec({ fields: ['$.customers[*].card_number'], detectors: ['email'] }),
        true,
      );
      assert.ok(out.ok, out.ok ? '' : out.message);
      const text = out.body.toString();
      assert.ok(!text.includes(CARD), text);
      assert.ok(!text.includes('ada@example.com'), text);
      assert.equal(out.headers['content-length'], String(out.body.length));
      assert.equal(out.headers['content-encoding'], undefined);
      assert.equal(out.headers.etag, undefined);
      assert.equal(out.headers['content-md5'], undefined);
      assert.equal(out.report.fields, 1);
      assert.equal(out.report.detectors.email, 1);
    });
  }

  it('a response in another charset fails closed: the detectors read UTF-8 only', async () => {
    for (const path of ['/utf16', '/utf16-undeclared']) {
      const out = await masker.mask(
        await fetchRaw(path),
        spec({ detectors: ['credit_card'] }),
        true,
      );
      assert.equal(out.ok, false, path);
    }
  });

  it('a JSON body is always re-serialized, so a duplicate key cannot smuggle its first value', async () => {
    const out = await masker.mask(
      await fetchRaw('/duplicate-keys'),
      spec({ detectors: ['credit_card'] }),
      true,
    );
    assert.ok(out.ok);
    assert.ok(!out.body.toString().includes(CARD), out.body.toString());
  });

  it('a text response is scanned by the detectors', async () => {
    const out = await masker.mask(
      await fetchRaw('/text'),
      spec({ detectors: ['credit_card'] }),
      true,
    );
    assert.ok(out.ok);
    assert.ok(!out.body.toString().includes(CARD));
    assert.ok(
      out.body.toString().includes('ada@example.com'),
      'only what the spec names is masked',
    );
  });

  it('field paths on a response that is not JSON fail closed instead of passing it on', async () => {
    const out = await masker.mask(await fetchRaw('/text'), spec({ fields: ['$.card'] }), true);
    assert.equal(out.ok, false);
    assert.match(out.ok ? '' : out.message, /not JSON/);
  });

  it('an unknown content coding fails closed', async () => {
    const out = await masker.mask(await fetchRaw('/zstd'), spec({ detectors: ['email'] }), true);
    assert.equal(out.ok, false);
    assert.match(out.ok ? '' : out.message, /zstd/);
  });

  it('a binary response cannot be vouched for and fails closed', async () => {
    const out = await masker.mask(
      await fetchRaw('/binary'),
      spec({ detectors: ['credit_card'] }),
      true,
    );
    assert.equal(out.ok, false);
  });

  it('a response over the masking limit fails closed after reading only the limit', async () => {
    const out = await masker.mask(
      await fetchRaw('/large'),
      spec({ detectors: ['credit_card'] }),
      true,
    );
    assert.equal(out.ok, false);
    assert.match(out.ok ? '' : out.message, /masking limit/);
    assert.ok(out.upstreamBytes <= 64 * 1024 + 64 * 1024, `read ${out.upstreamBytes} bytes`);
  });

  it('a small gzip body that inflates beyond the limit fails closed (no decompression bomb)', async () => {
    const out = await masker.mask(await fetchRaw('/bomb'), spec({ detectors: ['email'] }), true);
    assert.equal(out.ok, false);
    assert.match(out.ok ? '' : out.message, /larger than the masking limit/);
  });

  it('in truncate mode an oversized text response is cut at the limit, masked and marked', async () => {
    const out = await truncating.mask(
      await fetchRaw('/large'),
      spec({ detectors: ['credit_card'] }),
      true,
    );
    assert.ok(out.ok, out.ok ? '' : out.message);
    assert.equal(out.truncated, true);
    // Replacements may be longer than what they replace; what matters is that the cut happened.
    assert.ok(out.body.length < 2 * 64 * 1024, `${out.body.length} bytes`);
    assert.ok(!out.body.toString().includes(CARD));
  });

  it('in truncate mode field paths still fail closed: a cut document has no reliable members', async () => {
    const out = await truncating.mask(
      await fetchRaw('/large'),
      spec({ fields: ['$..card'] }),
      true,
    );
    assert.equal(out.ok, false);
  });
});
