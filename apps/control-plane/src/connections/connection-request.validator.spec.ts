import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError } from '../errors/domain.error';
import { ConnectionRequestValidator as V } from './connection-request.validator';

const SECRET = 'tok-3f9a7c';
const valid = { name: 'crm', type: 'http', url: 'https://crm.internal/api' };

function refuses(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidRequestError, String(err));
    assert.match(err.message, message);
    assert.ok(!err.message.includes(SECRET), 'the message never quotes a secret');
    return true;
  });
}

describe('connection request validation', () => {
  it('a minimal connection is accepted with empty labels and no credentials', () => {
    assert.deepEqual(V.create(valid), {
      ...valid,
      url: 'https://crm.internal/api',
      labels: {},
      credentials: null,
    });
  });
  it('each credential type is accepted', () => {
    assert.deepEqual(
      V.create({ ...valid, credentials: { type: 'bearer', token: SECRET } }).credentials,
      {
        type: 'bearer',
        token: SECRET,
      },
    );
    assert.equal(
      V.create({ ...valid, credentials: { type: 'basic', username: 'svc', password: SECRET } })
        .credentials?.type,
      'basic',
    );
    assert.equal(
      V.create({ ...valid, credentials: { type: 'header', name: 'X-Api-Key', value: SECRET } })
        .credentials?.type,
      'header',
    );
  });

  const bad: [string, unknown, RegExp][] = [
    ['a name outside the pattern', { ...valid, name: 'CRM' }, /^name must match/],
    ['a type other than http', { ...valid, type: 'postgres' }, /^type must be "http"/],
    [
      'a url with userinfo',
      { ...valid, url: `https://svc:${SECRET}@crm` },
      /^url must not carry credentials/,
    ],
    ['a non-http url', { ...valid, url: 'ftp://crm' }, /^url must use http or https/],
    ['a url with a query', { ...valid, url: 'https://crm/?a=1' }, /^url must not carry a query/],
    [
      'labels that are not strings',
      { ...valid, labels: { tier: 1 } },
      /^labels\.tier must be a string/,
    ],
    ['an unknown field', { ...valid, secret: 1 }, /^secret is not a known field/],
    [
      'an unknown credential type',
      { ...valid, credentials: { type: 'oauth' } },
      /^credentials\.type must be one of/,
    ],
    [
      'a bearer credential without token',
      { ...valid, credentials: { type: 'bearer' } },
      /^credentials\.token must be a string/,
    ],
    [
      'an empty token',
      { ...valid, credentials: { type: 'bearer', token: '' } },
      /^credentials\.token must not be empty/,
    ],
    [
      'a token with CR/LF (header injection)',
      { ...valid, credentials: { type: 'bearer', token: `${SECRET}\r\nX: y` } },
      /^credentials\.token must be printable ASCII/,
    ],
    [
      'a field of another credential type',
      { ...valid, credentials: { type: 'bearer', token: SECRET, password: SECRET } },
      /^credentials\.password is not a field of a bearer credential/,
    ],
    [
      'a Host header credential',
      { ...valid, credentials: { type: 'header', name: 'Host', value: SECRET } },
      /^credentials\.name must not be the hop-by-hop or framing header "host"/,
    ],
    [
      'a hop-by-hop header credential',
      { ...valid, credentials: { type: 'header', name: 'Connection', value: SECRET } },
      /^credentials\.name must not be the hop-by-hop/,
    ],
    [
      'a header name that is not a token',
      { ...valid, credentials: { type: 'header', name: 'X Api', value: SECRET } },
      /^credentials\.name must be an HTTP header name/,
    ],
  ];
  for (const [what, body, message] of bad)
    it(`${what} is a 400 naming the field`, () => refuses(() => V.create(body), message));

  it('a patch cannot rename or retype a connection', () => {
    refuses(() => V.patch({ name: 'other' }), /^name cannot be changed/);
    refuses(() => V.patch({ type: 'http' }), /^type cannot be changed/);
  });
  it('an empty patch is refused', () => refuses(() => V.patch({}), /at least one of/));
  it('a patch with credentials null removes them; absent keeps them', () => {
    assert.deepEqual(V.patch({ credentials: null }), { credentials: null });
    assert.deepEqual(V.patch({ labels: { a: 'b' } }), { labels: { a: 'b' } });
  });
});
