import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONNECTION_RECORD_SCHEMA,
  CONNECTION_SECRET_SCHEMA,
  ENFORCER_KEY_SCHEMA,
  credentialHeaderNameProblem,
  parseConnectionCredential,
  parseConnectionRecord,
  parseConnectionSecret,
  parseEnforcerKey,
  readSealBinding,
  sealBindingMismatch,
  sealBindingOf,
  sealBindingOfJwe,
  servesConnection,
} from './connections';
import { ContractViolation } from './validation';

const COORD = 'A'.repeat(43);
const key = (over: Record<string, unknown> = {}) => ({
  schema: ENFORCER_KEY_SCHEMA,
  enforcer_id: 'e1',
  kid: 'abc_-1',
  alg: 'ECDH-ES+A256KW',
  public_jwk: { kty: 'EC', crv: 'P-256', x: COORD, y: COORD },
  serves: ['*'],
  registered_at: '2026-01-01T00:00:00Z',
  ...over,
});
const jwe = {
  protected: 'eyJ',
  iv: 'aXY',
  ciphertext: 'Y3Q',
  tag: 'dGFn',
  aad: 'Y3Jt',
  recipients: [{ header: { alg: 'ECDH-ES+A256KW', kid: 'abc' }, encrypted_key: 'a2V5' }],
};
const record = (over: Record<string, unknown> = {}) => ({
  schema: CONNECTION_RECORD_SCHEMA,
  name: 'crm',
  type: 'http',
  url: 'https://crm.internal/api',
  labels: { env: 'prod' },
  credentials: { type: 'bearer', header_name: null, rotated_at: '2026-01-01T00:00:00Z', jwe },
  revision: 3,
  updated_at: '2026-01-01T00:00:00Z',
  ...over,
});

function rejects(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ContractViolation && err.field === field);
}

describe('connection contracts', () => {
  it('a valid enforcer key and connection record parse', () => {
    assert.equal(parseEnforcerKey(key()).kid, 'abc_-1');
    const r = parseConnectionRecord(record());
    assert.equal(r.credentials?.jwe?.recipients[0].header.kid, 'abc');
    assert.equal(parseConnectionRecord(record({ credentials: null })).credentials, null);
  });

  it('an enforcer key carrying a private component (d) is refused', () =>
    rejects(
      () =>
        parseEnforcerKey(
          key({ public_jwk: { kty: 'EC', crv: 'P-256', x: COORD, y: COORD, d: COORD } }),
        ),
      'public_jwk.d',
    ));
  it('an enforcer key on another curve is refused', () =>
    rejects(
      () => parseEnforcerKey(key({ public_jwk: { kty: 'EC', crv: 'P-384', x: COORD, y: COORD } })),
      'public_jwk.crv',
    ));
  it('an enforcer key serving a malformed name is refused', () =>
    rejects(() => parseEnforcerKey(key({ serves: ['CRM!'] })), 'serves'));

  it('a record whose url carries userinfo is refused', () =>
    rejects(() => parseConnectionRecord(record({ url: 'https://u:p@crm.internal' })), 'url'));
  it('a record with an unknown credential type is refused', () =>
    rejects(
      () =>
        parseConnectionRecord(record({ credentials: { ...record().credentials, type: 'oauth' } })),
      'credentials.type',
    ));
  it('a header credential record without a header name is refused', () =>
    rejects(
      () =>
        parseConnectionRecord(
          record({ credentials: { ...record().credentials, type: 'header', header_name: null } }),
        ),
      'credentials.header_name',
    ));
  it('a sealed secret with a recipient lacking kid is refused', () =>
    rejects(
      () =>
        parseConnectionRecord(
          record({
            credentials: {
              ...record().credentials,
              jwe: {
                ...jwe,
                recipients: [{ header: { alg: 'ECDH-ES+A256KW' }, encrypted_key: 'a2V5' }],
              },
            },
          }),
        ),
      'credentials.jwe.recipients[0].header.kid',
    ));
  it('a sealed secret with another key management algorithm is refused', () =>
    rejects(
      () =>
        parseConnectionRecord(
          record({
            credentials: {
              ...record().credentials,
              jwe: {
                ...jwe,
                recipients: [{ header: { alg: 'RSA1_5', kid: 'a' }, encrypted_key: 'a2V5' }],
              },
            },
          }),
        ),
      'credentials.jwe.recipients[0].header.alg',
    ));

  it('a secret value with CR/LF is refused without being quoted', () => {
    assert.throws(
      () => parseConnectionCredential({ type: 'bearer', token: 'abc\r\nX-Evil: 1' }, 'c'),
      (err: unknown) =>
        err instanceof ContractViolation && err.field === 'token' && !err.message.includes('abc'),
    );
  });
  it('a basic username with a colon is refused', () =>
    rejects(
      () => parseConnectionCredential({ type: 'basic', username: 'a:b', password: 'x' }, 'c'),
      'username',
    ));
  it('a decrypted secret must name its connection and carry a valid credential', () => {
    const ok = parseConnectionSecret({
      schema: CONNECTION_SECRET_SCHEMA,
      connection: 'crm',
      url: 'https://crm.internal/api',
      rotated_at: '2026-01-01T00:00:00Z',
      credential: { type: 'header', name: 'X-Api-Key', value: 'v' },
    });
    assert.deepEqual(ok.credential, { type: 'header', name: 'X-Api-Key', value: 'v' });
    assert.equal(ok.url, 'https://crm.internal/api');
    rejects(
      () =>
        parseConnectionSecret({
          schema: CONNECTION_SECRET_SCHEMA,
          connection: 'crm',
          url: 'https://crm.internal/api',
          rotated_at: '2026-01-01T00:00:00Z',
          credential: { type: 'header', name: 'Host', value: 'v' },
        }),
      'credential.name',
    );
  });
  it('a decrypted secret without the URL it is for (sealed before bindings) is refused', () =>
    rejects(
      () =>
        parseConnectionSecret({
          schema: CONNECTION_SECRET_SCHEMA,
          connection: 'crm',
          rotated_at: '2026-01-01T00:00:00Z',
          credential: { type: 'bearer', token: 't' },
        }),
      'url',
    ));

  it('the seal binding of a record is its name, URL, credential type and header name', () => {
    assert.deepEqual(sealBindingOf(parseConnectionRecord(record())), {
      connection: 'crm',
      url: 'https://crm.internal/api',
      credential_type: 'bearer',
      header_name: null,
    });
    assert.equal(sealBindingOf(parseConnectionRecord(record({ credentials: null }))), null);
  });
  it('a binding is read from a protected header; absent or malformed is null', () => {
    const binding = {
      connection: 'crm',
      url: 'https://crm.internal/api',
      credential_type: 'header',
      header_name: 'X-Api-Key',
    };
    assert.deepEqual(readSealBinding({ enc: 'A256GCM', portcullis_binding: binding }), binding);
    assert.equal(readSealBinding({ enc: 'A256GCM' }), null);
    assert.equal(
      readSealBinding({ portcullis_binding: { ...binding, credential_type: 'oauth' } }),
      null,
    );
    assert.equal(readSealBinding({ portcullis_binding: { ...binding, url: 7 } }), null);
    const protectedHeader = Buffer.from(
      JSON.stringify({ enc: 'A256GCM', portcullis_binding: binding }),
    ).toString('base64url');
    const parsed = parseConnectionRecord(record()).credentials!.jwe!;
    assert.deepEqual(sealBindingOfJwe({ ...parsed, protected: protectedHeader }), binding);
    assert.equal(sealBindingOfJwe({ ...parsed, protected: 'not-json' }), null);
  });
  it('a binding mismatch names the field, never the values', () => {
    const b = {
      connection: 'crm',
      url: 'https://crm.internal/',
      credential_type: 'header',
      header_name: 'X-Api-Key',
    } as const;
    assert.equal(sealBindingMismatch(b, { ...b }), null);
    assert.equal(sealBindingMismatch(b, { ...b, connection: 'erp' }), 'connection');
    assert.equal(sealBindingMismatch(b, { ...b, url: 'https://evil/' }), 'url');
    assert.equal(
      sealBindingMismatch(b, { ...b, credential_type: 'bearer', header_name: null }),
      'credential type',
    );
    assert.equal(sealBindingMismatch(b, { ...b, header_name: 'X-Other' }), 'header name');
  });

  it('hop-by-hop, framing and enforcer headers cannot carry a credential; API-key headers can', () => {
    for (const bad of [
      'Connection',
      'transfer-encoding',
      'Host',
      'Content-Length',
      'Proxy-Authorization',
      'x-portcullis-decision-id',
      'bad header',
      '',
    ])
      assert.notEqual(credentialHeaderNameProblem(bad), null, bad);
    for (const good of ['X-Api-Key', 'Authorization', 'apikey'])
      assert.equal(credentialHeaderNameProblem(good), null, good);
  });

  it('"*" serves every connection; a list serves exactly its names', () => {
    assert.equal(servesConnection(['*'], 'crm'), true);
    assert.equal(servesConnection(['crm'], 'crm'), true);
    assert.equal(servesConnection(['erp'], 'crm'), false);
  });
});
