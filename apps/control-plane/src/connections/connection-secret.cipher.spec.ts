import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConnectionSecretCipher, SecretDecryptionError } from './connection-secret.cipher';

const k1 = { kid: 'k1', key: randomBytes(32) };
const k2 = { kid: 'k2', key: randomBytes(32) };
const secret = Buffer.from('{"type":"bearer","token":"s3cr3t-token"}');

describe('connection secret cipher (AES-256-GCM at rest)', () => {
  it('a secret round-trips and its ciphertext never contains the plaintext', () => {
    const c = new ConnectionSecretCipher([k1]);
    const sealed = c.encrypt('crm', secret);
    assert.equal(sealed.kid, 'k1');
    assert.ok(!Buffer.from(sealed.ciphertext, 'base64').includes(Buffer.from('s3cr3t')));
    assert.deepEqual(c.decrypt('crm', sealed), secret);
  });

  it('two encryptions of one secret differ (a fresh nonce each time)', () => {
    const c = new ConnectionSecretCipher([k1]);
    assert.notEqual(c.encrypt('crm', secret).ciphertext, c.encrypt('crm', secret).ciphertext);
  });

  it('a ciphertext copied to another connection does not decrypt (AAD binds the name)', () => {
    const c = new ConnectionSecretCipher([k1]);
    assert.throws(() => c.decrypt('erp', c.encrypt('crm', secret)), SecretDecryptionError);
  });

  it('a ciphertext under the wrong key does not decrypt', () => {
    const sealed = new ConnectionSecretCipher([k1]).encrypt('crm', secret);
    const other = new ConnectionSecretCipher([{ kid: 'k1', key: randomBytes(32) }]);
    assert.throws(() => other.decrypt('crm', sealed), SecretDecryptionError);
  });

  it('a ciphertext relabelled with another configured key id does not decrypt', () => {
    const c = new ConnectionSecretCipher([k1, k2]);
    const sealed = c.encrypt('crm', secret);
    assert.throws(() => c.decrypt('crm', { ...sealed, kid: 'k2' }), SecretDecryptionError);
  });

  it('a flipped ciphertext bit is detected', () => {
    const c = new ConnectionSecretCipher([k1]);
    const raw = Buffer.from(c.encrypt('crm', secret).ciphertext, 'base64');
    raw[14] ^= 1;
    assert.throws(() => c.decrypt('crm', { kid: 'k1', ciphertext: raw.toString('base64') }));
  });

  it('the first key encrypts and a retired key still decrypts', () => {
    const old = new ConnectionSecretCipher([k1]).encrypt('crm', secret);
    const rotated = new ConnectionSecretCipher([k2, k1]);
    assert.equal(rotated.currentKid, 'k2');
    assert.deepEqual(rotated.decrypt('crm', old), secret);
    assert.equal(rotated.encrypt('crm', secret).kid, 'k2');
  });

  it('an unknown key id names the key, not the secret', () => {
    const sealed = new ConnectionSecretCipher([k1]).encrypt('crm', secret);
    assert.throws(
      () => new ConnectionSecretCipher([k2]).decrypt('crm', sealed),
      (err: unknown) =>
        err instanceof SecretDecryptionError &&
        /key "k1"/.test(err.message) &&
        !err.message.includes('s3cr3t'),
    );
  });
});
