import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkRequestHead,
  unsupportedRequestBody,
  keptHeaders,
  policyHeaders,
  responseHeaders,
  summaryPath,
  upstreamHeaders,
  type RequestHead,
} from './http-message.rules';

const head = (over: Partial<RequestHead> & { headers?: [string, string][] }): RequestHead => ({
  method: over.method ?? 'GET',
  url: over.url ?? '/crm/x',
  httpVersion: over.httpVersion ?? '1.1',
  rawHeaders: (over.headers ?? [['Host', 'enforcer:8800']]).flat(),
});

describe('ambiguous HTTP is rejected', () => {
  const cases: [string, RequestHead, 400 | 405, RegExp][] = [
    [
      'two Host headers',
      head({
        headers: [
          ['Host', 'a'],
          ['host', 'b'],
        ],
      }),
      400,
      /more than one Host/,
    ],
    [
      'two Content-Length headers',
      head({
        method: 'POST',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '1'],
          ['content-length', '1'],
        ],
      }),
      400,
      /Content-Length/,
    ],
    [
      'Transfer-Encoding on HTTP/1.0',
      head({
        method: 'POST',
        httpVersion: '1.0',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
      }),
      400,
      /HTTP\/1\.0/,
    ],
    [
      'Transfer-Encoding together with Content-Length',
      head({
        method: 'POST',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
          ['Content-Length', '3'],
        ],
      }),
      400,
      /together/,
    ],
    [
      'a Transfer-Encoding other than chunked',
      head({
        method: 'POST',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'gzip, chunked'],
        ],
      }),
      400,
      /chunked/,
    ],
    [
      'two Transfer-Encoding headers',
      head({
        method: 'POST',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
          ['Transfer-Encoding', 'chunked'],
        ],
      }),
      400,
      /chunked/,
    ],
    [
      'an absolute-form target naming another host',
      head({ url: 'http://evil.example/crm/x', headers: [['Host', 'enforcer:8800']] }),
      400,
      /disagrees with the Host/,
    ],
    [
      'an absolute-form target with userinfo',
      head({ url: 'http://u:p@enforcer:8800/crm/x', headers: [['Host', 'enforcer:8800']] }),
      400,
      /userinfo/,
    ],
    ['an asterisk-form target', head({ method: 'OPTIONS', url: '*' }), 400, /origin-form/],
    ['an HTTP/1.1 request without Host', head({ headers: [] }), 400, /without a Host/],
    [
      'a "chunked, identity" Transfer-Encoding',
      head({
        method: 'POST',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked, identity'],
        ],
      }),
      400,
      /chunked/,
    ],
    ['the TRACE method', head({ method: 'TRACE' }), 405, /TRACE/],
    ['an unknown method', head({ method: 'PROPFIND' }), 405, /PROPFIND/],
  ];
  for (const [what, h, status, reason] of cases) {
    it(`${what} is rejected with ${status}`, () => {
      const r = checkRequestHead(h);
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.equal(r.status, status);
      assert.match(r.reason, reason);
    });
  }

  it('an absolute-form target that agrees with Host is accepted as its origin-form, unnormalized', () => {
    const r = checkRequestHead(
      head({ url: 'http://Enforcer:8800/crm/a%2e%2e?x=1', headers: [['Host', 'enforcer:8800']] }),
    );
    assert.deepEqual(r, { ok: true, target: '/crm/a%2e%2e?x=1' });
  });

  it('an absolute-form target without a path maps to "/"', () => {
    assert.deepEqual(checkRequestHead(head({ url: 'http://a', headers: [['Host', 'a']] })), {
      ok: true,
      target: '/',
    });
  });

  it('a chunked HTTP/1.1 request is accepted', () => {
    const r = checkRequestHead(
      head({
        method: 'POST',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
      }),
    );
    assert.equal(r.ok, true);
  });
});

describe('header handling', () => {
  const raw = [
    ['Host', 'enforcer:8800'],
    ['Authorization', 'Bearer secret-token'],
    ['Cookie', 'session=secret'],
    ['Proxy-Authorization', 'Basic c2VjcmV0'],
    ['Connection', 'keep-alive, X-Hop'],
    ['X-Hop', 'hop'],
    ['Keep-Alive', 'timeout=5'],
    ['TE', 'trailers'],
    ['Trailer', 'X-T'],
    ['Upgrade', 'websocket'],
    ['Proxy-Connection', 'keep-alive'],
    ['X-Portcullis-Subject', 'spoofed'],
    ['Accept', 'application/json'],
    ['X-Tag', 'a'],
    ['x-tag', 'b'],
    ['X-Forwarded-For', '10.0.0.1'],
    ['Content-Length', '999'],
  ].flat();

  it('the policy sees lower-cased headers without credentials, hop-by-hop headers or x-portcullis-*', () => {
    const h = policyHeaders(keptHeaders(raw).kept);
    assert.deepEqual(h, {
      host: 'enforcer:8800',
      accept: 'application/json',
      'x-tag': 'a, b',
      'content-length': '999',
    });
  });

  it('caller-chosen header names like __proto__ and constructor neither throw nor reach Object.prototype', () => {
    const evil = [
      'Host',
      'a',
      '__proto__',
      'x',
      'constructor',
      'y',
      'toString',
      'z',
      '__proto__',
      'w',
    ];
    const p = policyHeaders(keptHeaders(evil).kept);
    assert.equal(Object.getPrototypeOf(p), Object.prototype);
    assert.equal(p.constructor, 'y');
    assert.equal(Object.getOwnPropertyDescriptor(p, '__proto__')?.value, 'x, w');
    const u = upstreamHeaders(keptHeaders(evil).kept, {
      upstreamHost: 'up',
      sourceIp: '::1',
      decisionId: 'd',
      bodyLength: null,
      credentials: null,
    });
    assert.equal(u.constructor, 'y');
    assert.equal(u.tostring, 'z');
    assert.deepEqual(Object.getOwnPropertyDescriptor(u, '__proto__')?.value, ['x', 'w']);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('forwarding headers the caller sent are replaced, never appended to, and hidden from the policy', () => {
    const spoof = [
      'Host',
      'a',
      'X-Forwarded-For',
      '10.9.9.9',
      'X-Forwarded-Host',
      'admin.internal',
      'X-Forwarded-Proto',
      'https',
      'Forwarded',
      'for=10.9.9.9',
      'X-Real-IP',
      '10.9.9.9',
      'X-HTTP-Method-Override',
      'DELETE',
    ];
    const u = upstreamHeaders(keptHeaders(spoof).kept, {
      upstreamHost: 'up',
      sourceIp: '127.0.0.1',
      decisionId: 'd',
      bodyLength: null,
      credentials: null,
    });
    assert.equal(u['x-forwarded-for'], '127.0.0.1');
    assert.equal(u['x-forwarded-proto'], 'http');
    for (const name of ['x-forwarded-host', 'forwarded', 'x-real-ip', 'x-http-method-override'])
      assert.equal(u[name], undefined, `${name} was forwarded`);
    assert.deepEqual(policyHeaders(keptHeaders(spoof).kept), { host: 'a' });
  });

  it('a refused call records its path without the query, which may carry a credential', () => {
    assert.equal(summaryPath('/crm/x%2F?access_token=eyJabc'), '/crm/x%2F');
    assert.equal(summaryPath('http://h/crm/x?api_key=1#f'), 'http://h/crm/x');
  });

  it('the upstream receives no caller credentials and no hop-by-hop headers', () => {
    const h = upstreamHeaders(keptHeaders(raw).kept, {
      upstreamHost: 'up:8901',
      sourceIp: '127.0.0.1',
      decisionId: 'd-1',
      bodyLength: 3,
      credentials: null,
    });
    for (const name of [
      'authorization',
      'cookie',
      'proxy-authorization',
      'connection',
      'x-hop',
      'keep-alive',
      'te',
      'trailer',
      'upgrade',
      'proxy-connection',
      'x-portcullis-subject',
    ]) {
      assert.equal(h[name], undefined, `${name} was forwarded`);
    }
    assert.equal(h.host, 'up:8901');
    assert.equal(h['content-length'], '3');
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-portcullis-decision-id'], 'd-1');
    assert.deepEqual(h['x-tag'], ['a', 'b']);
    assert.equal(h.accept, 'application/json');
  });

  it('a bodiless forward carries no Content-Length', () => {
    const h = upstreamHeaders(keptHeaders(['Host', 'a']).kept, {
      upstreamHost: 'up',
      sourceIp: '::1',
      decisionId: 'd',
      bodyLength: null,
      credentials: null,
    });
    assert.equal(h['content-length'], undefined);
    assert.equal(h['x-forwarded-for'], '::1');
  });

  it('hop-by-hop headers of the upstream response are dropped and the decision id is added', () => {
    const h = responseHeaders(
      {
        connection: 'close, x-internal',
        'x-internal': '1',
        'transfer-encoding': 'chunked',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
        'x-portcullis-decision-id': 'forged',
      },
      'd-2',
    );
    assert.deepEqual(h, {
      'content-type': 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
      'x-portcullis-decision-id': 'd-2',
    });
  });

  describe('injected credentials', () => {
    const ctx = {
      upstreamHost: 'up',
      sourceIp: '::1',
      decisionId: 'd',
      bodyLength: null,
    };
    const caller = [
      'Host',
      'a',
      'Authorization',
      'Bearer caller-token',
      'X-Api-Key',
      'caller-chosen-key',
      'Cookie',
      'sid=1',
    ];

    it('a bearer credential replaces whatever Authorization the caller sent', () => {
      const h = upstreamHeaders(keptHeaders(caller).kept, {
        ...ctx,
        credentials: { type: 'bearer', token: 'upstream-secret' },
      });
      assert.equal(h.authorization, 'Bearer upstream-secret');
      assert.equal(h.cookie, undefined);
      assert.ok(!JSON.stringify(h).includes('caller-token'));
    });

    it('basic credentials are sent as one RFC 7617 Authorization header', () => {
      const h = upstreamHeaders(keptHeaders(caller).kept, {
        ...ctx,
        credentials: { type: 'basic', username: 'svc', password: 'p:w' },
      });
      assert.equal(h.authorization, `Basic ${Buffer.from('svc:p:w').toString('base64')}`);
    });

    it("a caller-supplied header named like the connection's credential is dropped and replaced", () => {
      const { kept } = keptHeaders(caller, 'x-api-key');
      assert.equal(policyHeaders(kept)['x-api-key'], undefined, 'the policy never sees it');
      const h = upstreamHeaders(kept, {
        ...ctx,
        credentials: { type: 'header', name: 'X-Api-Key', value: 'upstream-key' },
      });
      assert.equal(h['x-api-key'], 'upstream-key');
      assert.ok(!JSON.stringify(h).includes('caller-chosen-key'));
    });

    it('the credential headers the caller sent are listed once each, never their values', () => {
      const { kept, erased } = keptHeaders([...caller, 'authorization', 'again'], 'x-api-key');
      assert.deepEqual(erased, ['authorization', 'x-api-key', 'cookie']);
      assert.ok(!JSON.stringify([...kept]).includes('again'), 'their values are not kept');
    });

    it('a response to be masked is asked for whole and in codings the enforcer can undo', () => {
      const h = upstreamHeaders(
        keptHeaders(['Host', 'a', 'Accept-Encoding', 'zstd', 'Range', 'bytes=0-9', 'If-Range', 'x'])
          .kept,
        { ...ctx, credentials: null, acceptEncoding: 'gzip, deflate, br' },
      );
      assert.equal(h['accept-encoding'], 'gzip, deflate, br');
      assert.equal(h.range, undefined);
      assert.equal(h['if-range'], undefined);
    });
  });

  describe('request bodies the enforcer cannot judge as sent', () => {
    it('a compressed request body is refused: the policy would see an opaque string', () => {
      assert.match(
        unsupportedRequestBody({ 'content-encoding': 'gzip' }) ?? '',
        /Content-Encoding/,
      );
      assert.equal(unsupportedRequestBody({ 'content-encoding': 'identity' }), null);
    });

    it('a body declared in a charset other than UTF-8 is refused', () => {
      assert.match(
        unsupportedRequestBody({ 'content-type': 'application/json; charset=utf-16' }) ?? '',
        /utf-16/,
      );
      assert.equal(
        unsupportedRequestBody({ 'content-type': 'application/json; charset=UTF-8' }),
        null,
      );
      assert.equal(unsupportedRequestBody({ 'content-type': 'text/plain' }), null);
    });

    it('the credential header spelled with underscores is dropped like the dashed one', () => {
      const { kept } = keptHeaders(
        ['Host', 'a', 'X_Api_Key', 'forged', 'Proxy_Authorization', 'x'],
        'x-api-key',
      );
      assert.equal(kept.has('x_api_key'), false);
      assert.equal(kept.has('proxy_authorization'), false);
    });

    it('a response searched for the credential is asked for uncoded and in the default charset', () => {
      const h = upstreamHeaders(
        keptHeaders(['Host', 'a', 'Accept-Encoding', 'gzip', 'Accept-Charset', 'utf-16']).kept,
        {
          upstreamHost: 'up',
          sourceIp: '::1',
          decisionId: 'd',
          bodyLength: null,
          credentials: { type: 'bearer', token: 't'.repeat(20) },
          plainBody: true,
        },
      );
      assert.equal(h['accept-encoding'], 'identity');
      assert.equal(h['accept-charset'], undefined);
    });
  });
});
