import { GeneralEncrypt, calculateJwkThumbprint, importJWK, type CryptoKey } from 'jose';
import {
  CONNECTION_JWE_ALG,
  CONNECTION_JWE_ENC,
  CONNECTION_SEAL_BINDING_PARAM,
  sealBindingOfSecret,
  type ConnectionJwe,
  type ConnectionSecret,
  type EnforcerKey,
} from '@portcullis/contracts';

/**
 * Seals a connection secret to enforcer public keys: one JWE (General JSON serialization), one
 * content key, one recipient per enforcer key (ECDH-ES+A256KW, `kid` = the key's thumbprint). Only
 * the enforcers' private keys, which never leave their processes, can open it.
 *
 * What the secret is for is authenticated with it: the connection name is the JWE's additional
 * authenticated data (what enforcers of the previous release check), and the protected header
 * binds the connection, URL, credential type and header name (ConnectionSealBinding), which the
 * plaintext repeats. An enforcer refuses the secret on any record whose clear fields differ, so a
 * sealed secret cannot be pasted onto an entry that would send it to another host or header.
 */
export class ConnectionSecretSealer {
  /** Imported public keys by kid; kids are thumbprints, so an entry never goes stale. */
  private readonly imported = new Map<string, CryptoKey>();

  async seal(secret: ConnectionSecret, recipients: readonly EnforcerKey[]): Promise<ConnectionJwe> {
    if (recipients.length === 0) throw new Error('a sealed secret needs at least one recipient');
    const jwe = new GeneralEncrypt(new TextEncoder().encode(JSON.stringify(secret)))
      .setProtectedHeader({
        enc: CONNECTION_JWE_ENC,
        cty: 'application/json',
        [CONNECTION_SEAL_BINDING_PARAM]: { ...sealBindingOfSecret(secret) },
      })
      .setAdditionalAuthenticatedData(new TextEncoder().encode(secret.connection));
    for (const k of recipients) {
      jwe
        .addRecipient(await this.key(k))
        .setUnprotectedHeader({ alg: CONNECTION_JWE_ALG, kid: k.kid });
    }
    const out = await jwe.encrypt();
    if (out.protected === undefined || out.tag === undefined || out.aad === undefined)
      throw new Error('JWE without protected header, tag or aad');
    return {
      protected: out.protected,
      iv: out.iv ?? '',
      ciphertext: out.ciphertext,
      tag: out.tag,
      aad: out.aad,
      recipients: out.recipients.map((r, i) => ({
        header: { ...(r.header ?? {}), alg: CONNECTION_JWE_ALG, kid: recipients[i].kid },
        encrypted_key: r.encrypted_key ?? '',
      })),
    };
  }

  /**
   * Whether a registered key can be sealed to: a valid P-256 public key whose `kid` is its RFC 7638
   * thumbprint (so a kid always means one key, and the import cache cannot be poisoned).
   */
  async usable(k: EnforcerKey): Promise<boolean> {
    try {
      await this.key(k);
      return true;
    } catch {
      return false;
    }
  }

  private async key(k: EnforcerKey): Promise<CryptoKey> {
    let key = this.imported.get(k.kid);
    if (!key) {
      if ((await calculateJwkThumbprint({ ...k.public_jwk }, 'sha256')) !== k.kid)
        throw new Error(`enforcer ${k.enforcer_id}: kid is not the thumbprint of its key`);
      const imported = await importJWK({ ...k.public_jwk }, CONNECTION_JWE_ALG);
      if (imported instanceof Uint8Array)
        throw new Error('an enforcer key must be a public EC key');
      key = imported;
      this.imported.set(k.kid, key);
    }
    return key;
  }
}
