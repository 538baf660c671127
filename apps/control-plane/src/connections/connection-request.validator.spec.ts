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
    [
      'enforcers that are not an array',
      { ...valid, enforcers: 'crm-eu-1' },
      /^enforcers must be an array of enforcer ids or \["\*"\]/,
    ],
    [
      'enforcers holding a non-string',
      { ...valid, enforcers: ['crm-eu-1', 7] },
      /^enforcers must be an array/,
    ],
    ['enforcers null', { ...valid, enforcers: null }, /^enforcers must be an array/],
    [
      'an enforcer id outside the pattern',
      { ...valid, enforcers: ['crm-eu-1', 'CRM EU'] },
      /^enforcers\[1\] must be "\*" or an enforcer id matching/,
    ],
    [
      '"*" beside enforcer ids',
      { ...valid, enforcers: ['crm-eu-1', '*'] },
      /^enforcers\[1\] must not be "\*" unless "\*" is the only entry/,
    ],
    [
      'a repeated enforcer id',
      { ...valid, enforcers: ['a', 'b', 'a'] },
      /^enforcers\[2\] repeats "a"/,
    ],
    [
      'more than 256 enforcers',
      { ...valid, enforcers: Array.from({ length: 257 }, (_, i) => `e${i}`) },
      /^enforcers must have at most 256 entries/,
    ],
  ];
  for (const [what, body, message] of bad)
    it(`${what} is a 400 naming the field`, () => refuses(() => V.create(body), message));

  it('a patch cannot rename or retype a connection', () => {
    refuses(() => V.patch({ name: 'other' }), /^name cannot be changed/);
    refuses(() => V.patch({ type: 'http' }), /^type cannot be changed/);
  });
  it('an empty patch is refused', () => refuses(() => V.patch({}), /at least one of/));
  it('enforcers are optional on create (the default applies later) and kept as given', () => {
    assert.equal('enforcers' in V.create(valid), false);
    assert.deepEqual(V.create({ ...valid, enforcers: ['*'] }).enforcers, ['*']);
    assert.deepEqual(V.create({ ...valid, enforcers: [] }).enforcers, []);
    assert.deepEqual(V.create({ ...valid, enforcers: ['crm-eu-1', 'crm-eu-2'] }).enforcers, [
      'crm-eu-1',
      'crm-eu-2',
    ]);
  });
  it('a patch may change only the enforcers, and validates them like a create', () => {
    assert.deepEqual(V.patch({ enforcers: ['crm-eu-1'] }), { enforcers: ['crm-eu-1'] });
    refuses(() => V.patch({ enforcers: ['*', '*'] }), /^enforcers\[0\] must not be "\*"/);
  });
  it('a patch with credentials null removes them; absent keeps them', () => {
    assert.deepEqual(V.patch({ credentials: null }), { credentials: null });
    assert.deepEqual(V.patch({ labels: { a: 'b' } }), { labels: { a: 'b' } });
  });
});
