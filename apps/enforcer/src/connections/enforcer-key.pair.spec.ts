import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GeneralEncrypt, importJWK } from 'jose';
import {
  CONNECTION_SEAL_BINDING_PARAM,
  CONNECTION_SECRET_SCHEMA,
  parseConnectionRecord,
  parseEnforcerKey,
  type ConnectionCredential,
  type ConnectionJwe,
  type ConnectionSealBinding,
  type EnforcerKey,
} from '@portcullis/contracts';
import { EnforcerKeyPair } from './enforcer-key.pair';

const CRM: ConnectionSealBinding = {
  connection: 'crm',
  url: 'https://crm.internal/api',
  credential_type: 'header',
  header_name: 'X-Api-Key',
};
const CREDENTIAL: ConnectionCredential = { type: 'header', name: 'X-Api-Key', value: 'key-1' };

/**
 * Seals like the control plane does (General JSON JWE, name as AAD, binding in the protected
 * header, binding repeated in the plaintext), from registrations only. `over` lets a test make the
 * header binding (`header`), the plaintext (`plaintext`) or the AAD (`aad`) disagree.
 */
async function seal(
  recipients: EnforcerKey[],
  over: {
    header?: Partial<ConnectionSealBinding> | null;
    plaintext?: Record<string, unknown>;
    aad?: string;
  } = {},
): Promise<ConnectionJwe> {
  const enc = new GeneralEncrypt(
    new TextEncoder().encode(
      JSON.stringify({
        schema: CONNECTION_SECRET_SCHEMA,
        connection: CRM.connection,
        url: CRM.url,
        rotated_at: '2026-01-01T00:00:00.000Z',
        credential: CREDENTIAL,
        ...over.plaintext,
      }),
    ),
  )
    .setProtectedHeader({
      enc: 'A256GCM',
      ...(over.header === null
        ? {}
        : { [CONNECTION_SEAL_BINDING_PARAM]: { ...CRM, ...over.header } }),
    })
    .setAdditionalAuthenticatedData(new TextEncoder().encode(over.aad ?? CRM.connection));
  for (const k of recipients)
    enc
      .addRecipient(await importJWK({ ...k.public_jwk }, 'ECDH-ES+A256KW'))
      .setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: k.kid });
  const jwe = await enc.encrypt();
  // Through the contract parser, as the registry receives it.
  return parseConnectionRecord({
    schema: 'portcullis.connection/v1',
    name: CRM.connection,
    type: 'http',
    url: CRM.url,
    labels: {},
    credentials: {
      type: 'header',
      header_name: 'X-Api-Key',
      rotated_at: '2026-01-01T00:00:00.000Z',
      jwe,
    },
    revision: 1,
    updated_at: '2026-01-01T00:00:00.000Z',
  }).credentials!.jwe!;
}

describe('enforcer key pair', () => {
  it('its registration passes the contract and carries no private component', async () => {
    const pair = await EnforcerKeyPair.generate();
    const reg = parseEnforcerKey(JSON.parse(JSON.stringify(pair.registration('e1', ['*']))));
    assert.equal(reg.kid, pair.kid);
    assert.equal('d' in reg.public_jwk, false);
  });

  it('each recipient opens its own entry of a secret sealed to several enforcers', async () => {
    const a = await EnforcerKeyPair.generate();
    const b = await EnforcerKeyPair.generate();
    const jwe = await seal([a.registration('a', ['*']), b.registration('b', ['*'])]);
    for (const pair of [a, b]) {
      const rec = jwe.recipients.find((r) => r.header.kid === pair.kid)!;
      const secret = await pair.open(jwe, rec, CRM);
      assert.deepEqual(secret.credential, CREDENTIAL);
    }
  });

  it('an enforcer that is not a recipient cannot open the secret, even with a recipient entry', async () => {
    const a = await EnforcerKeyPair.generate();
    const eve = await EnforcerKeyPair.generate();
    const jwe = await seal([a.registration('a', ['*'])]);
    assert.equal(
      jwe.recipients.some((r) => r.header.kid === eve.kid),
      false,
    );
    await assert.rejects(eve.open(jwe, jwe.recipients[0], CRM));
  });

  it('a sealed secret moved to another connection does not open (AAD binds the name)', async () => {
    const a = await EnforcerKeyPair.generate();
    const jwe = await seal([a.registration('a', ['*'])]);
    await assert.rejects(
      a.open(jwe, jwe.recipients[0], { ...CRM, connection: 'erp' }),
      /bound to another connection/,
    );
  });

  for (const [what, record, field] of [
    ['another URL', { url: 'https://attacker.example/' }, 'url'],
    ['another header name', { header_name: 'X-Forwarded-For' }, 'header name'],
    [
      'another credential type',
      { credential_type: 'bearer', header_name: null },
      'credential type',
    ],
  ] as const)
    it(`a sealed secret moved onto a record with ${what} is refused, naming the field only`, async () => {
      const a = await EnforcerKeyPair.generate();
      const jwe = await seal([a.registration('a', ['*'])]);
      await assert.rejects(
        a.open(jwe, jwe.recipients[0], { ...CRM, ...record }),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.equal(err.message, `sealed secret is bound to another ${field}`);
          assert.ok(!err.message.includes('key-1'));
          return true;
        },
      );
    });

  it('a secret sealed without a binding (an older control plane) is refused', async () => {
    const a = await EnforcerKeyPair.generate();
    const jwe = await seal([a.registration('a', ['*'])], { header: null });
    await assert.rejects(a.open(jwe, jwe.recipients[0], CRM), /carries no binding/);
  });

  it('a secret whose plaintext names another connection or URL than its binding is refused', async () => {
    const a = await EnforcerKeyPair.generate();
    const other = await seal([a.registration('a', ['*'])], { plaintext: { connection: 'erp' } });
    await assert.rejects(a.open(other, other.recipients[0], CRM), /names another connection/);
    const url = await seal([a.registration('a', ['*'])], {
      plaintext: { url: 'https://attacker.example/' },
    });
    await assert.rejects(a.open(url, url.recipients[0], CRM), /names another url/);
    const header = await seal([a.registration('a', ['*'])], {
      plaintext: { credential: { ...CREDENTIAL, name: 'X-Other' } },
    });
    await assert.rejects(a.open(header, header.recipients[0], CRM), /names another header name/);
  });

  it('a protected header rewritten to match another record breaks the seal', async () => {
    const a = await EnforcerKeyPair.generate();
    const jwe = await seal([a.registration('a', ['*'])]);
    const moved = { ...CRM, url: 'https://attacker.example/' };
    const header = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const forged = Buffer.from(
      JSON.stringify({ ...header, [CONNECTION_SEAL_BINDING_PARAM]: moved }),
    ).toString('base64url');
    await assert.rejects(a.open({ ...jwe, protected: forged }, jwe.recipients[0], moved));
  });

  it('a tampered ciphertext does not open', async () => {
    const a = await EnforcerKeyPair.generate();
    const jwe = await seal([a.registration('a', ['*'])]);
    const flipped = jwe.ciphertext.startsWith('A')
      ? `B${jwe.ciphertext.slice(1)}`
      : `A${jwe.ciphertext.slice(1)}`;
    await assert.rejects(a.open({ ...jwe, ciphertext: flipped }, jwe.recipients[0], CRM));
  });
});
