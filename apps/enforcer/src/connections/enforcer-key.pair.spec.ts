import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GeneralEncrypt, importJWK } from 'jose';
import {
  CONNECTION_SECRET_SCHEMA,
  parseConnectionRecord,
  parseEnforcerKey,
  type ConnectionJwe,
  type EnforcerKey,
} from '@portcullis/contracts';
import { EnforcerKeyPair } from './enforcer-key.pair';

/** Seals like the control plane does (General JSON JWE, name as AAD), from registrations only. */
async function seal(
  connection: string,
  plaintextConnection: string,
  recipients: EnforcerKey[],
): Promise<ConnectionJwe> {
  const enc = new GeneralEncrypt(
    new TextEncoder().encode(
      JSON.stringify({
        schema: CONNECTION_SECRET_SCHEMA,
        connection: plaintextConnection,
        rotated_at: '2026-01-01T00:00:00.000Z',
        credential: { type: 'bearer', token: 'tok-1' },
      }),
    ),
  )
    .setProtectedHeader({ enc: 'A256GCM' })
    .setAdditionalAuthenticatedData(new TextEncoder().encode(connection));
  for (const k of recipients)
    enc
      .addRecipient(await importJWK({ ...k.public_jwk }, 'ECDH-ES+A256KW'))
      .setUnprotectedHeader({ alg: 'ECDH-ES+A256KW', kid: k.kid });
  const jwe = await enc.encrypt();
  // Through the contract parser, as the registry receives it.
  return parseConnectionRecord({
    schema: 'portcullis.connection/v1',
    name: connection,
    type: 'http',
    url: 'http://a',
    labels: {},
    credentials: { type: 'bearer', header_name: null, rotated_at: '2026-01-01T00:00:00.000Z', jwe },
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
    const jwe = await seal('crm', 'crm', [a.registration('a', ['*']), b.registration('b', ['*'])]);
    for (const pair of [a, b]) {
      const rec = jwe.recipients.find((r) => r.header.kid === pair.kid)!;
      const secret = await pair.open(jwe, rec, 'crm');
      assert.deepEqual(secret.credential, { type: 'bearer', token: 'tok-1' });
    }
  });

  it('an enforcer that is not a recipient cannot open the secret, even with a recipient entry', async () => {
    const a = await EnforcerKeyPair.generate();
    const eve = await EnforcerKeyPair.generate();
    const jwe = await seal('crm', 'crm', [a.registration('a', ['*'])]);
    assert.equal(
      jwe.recipients.some((r) => r.header.kid === eve.kid),
      false,
    );
    await assert.rejects(eve.open(jwe, jwe.recipients[0], 'crm'));
  });

  it('a sealed secret moved to another connection does not open (AAD binds the name)', async () => {
    const a = await EnforcerKeyPair.generate();
    const jwe = await seal('crm', 'crm', [a.registration('a', ['*'])]);
    await assert.rejects(a.open(jwe, jwe.recipients[0], 'erp'), /another connection/);
  });

  it('a secret whose plaintext names another connection is refused', async () => {
    const a = await EnforcerKeyPair.generate();
    const jwe = await seal('crm', 'erp', [a.registration('a', ['*'])]);
    await assert.rejects(a.open(jwe, jwe.recipients[0], 'crm'), /names another connection/);
  });

  it('a tampered ciphertext does not open', async () => {
    const a = await EnforcerKeyPair.generate();
    const jwe = await seal('crm', 'crm', [a.registration('a', ['*'])]);
    const flipped = jwe.ciphertext.startsWith('A')
      ? `B${jwe.ciphertext.slice(1)}`
      : `A${jwe.ciphertext.slice(1)}`;
    await assert.rejects(a.open({ ...jwe, ciphertext: flipped }, jwe.recipients[0], 'crm'));
  });
});
