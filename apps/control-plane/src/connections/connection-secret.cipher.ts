import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { ConnectionEncryptionKey } from '../config/control-plane.config';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AAD_PREFIX = 'portcullis.connection-secret/v1';

/** A secret as stored: the id of the key that sealed it and `base64(nonce ‖ ciphertext ‖ tag)`. */
export interface SealedAtRest {
  kid: string;
  ciphertext: string;
}

/** A stored secret whose key id is not configured, or whose ciphertext does not authenticate. */
export class SecretDecryptionError extends Error {
  constructor(
    readonly kid: string,
    message: string,
  ) {
    super(message);
    this.name = 'SecretDecryptionError';
  }
}

/**
 * AES-256-GCM for connection secrets at rest. A fresh random 96-bit nonce per value; the
 * additional data binds the connection name and key id, so a ciphertext copied to another row,
 * or relabelled with another key id, fails to authenticate instead of decrypting. The first key
 * encrypts; every key decrypts, which is what lets keys rotate without downtime.
 */
export class ConnectionSecretCipher {
  private readonly byKid: ReadonlyMap<string, Buffer>;

  constructor(private readonly keys: readonly ConnectionEncryptionKey[]) {
    if (keys.length === 0) throw new Error('ConnectionSecretCipher needs at least one key');
    for (const k of keys)
      if (k.key.length !== 32) throw new Error(`key "${k.kid}" is not 32 bytes`);
    this.byKid = new Map(keys.map((k) => [k.kid, k.key]));
  }

  /** Id of the key new values are encrypted with. */
  get currentKid(): string {
    return this.keys[0].kid;
  }

  knows(kid: string): boolean {
    return this.byKid.has(kid);
  }

  encrypt(connection: string, plaintext: Buffer): SealedAtRest {
    const kid = this.currentKid;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0].key, nonce, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(aad(connection, kid));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      kid,
      ciphertext: Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64'),
    };
  }

  decrypt(connection: string, sealed: SealedAtRest): Buffer {
    const key = this.byKid.get(sealed.kid);
    if (!key)
      throw new SecretDecryptionError(
        sealed.kid,
        `the credentials of connection "${connection}" are encrypted with key "${sealed.kid}", which is not configured`,
      );
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    if (raw.length < NONCE_BYTES + TAG_BYTES)
      throw new SecretDecryptionError(
        sealed.kid,
        `the credentials of connection "${connection}" are truncated`,
      );
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(connection, sealed.kid));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new SecretDecryptionError(
        sealed.kid,
        `the credentials of connection "${connection}" do not authenticate under key "${sealed.kid}"`,
      );
    }
  }
}

function aad(connection: string, kid: string): Buffer {
  return Buffer.from(`${AAD_PREFIX}\0${connection}\0${kid}`, 'utf8');
}
