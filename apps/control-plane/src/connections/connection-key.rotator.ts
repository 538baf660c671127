import { Inject, Injectable } from '@nestjs/common';
import { ConfigError, Logger } from '@portcullis/platform';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { ConnectionSecretCipher, SecretDecryptionError } from './connection-secret.cipher';
import { ConnectionRepository } from './connection.repository';

/**
 * Key rotation without downtime: at boot, every secret still encrypted with a retired key (one
 * that is configured but no longer first) is re-encrypted with the current key. A secret under a
 * key that is not configured at all stops boot with a {@link ConfigError}: it could not be
 * distributed, and starting would hide that.
 */
@Injectable()
export class ConnectionKeyRotator {
  private readonly logger: Logger;

  constructor(
    private readonly connections: ConnectionRepository,
    private readonly cipher: ConnectionSecretCipher,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    logger: Logger,
  ) {
    this.logger = logger.child('connections');
  }

  /** Re-encrypts what needs it; returns how many secrets were re-encrypted. */
  async run(): Promise<number> {
    const key =
      this.config.connections.keys === null ? 'CONNECTION_KEY_FILE' : 'CONNECTION_ENCRYPTION_KEYS';
    let done = 0;
    for (const row of await this.connections.listEncryptedWithOtherKeys(this.cipher.currentKid)) {
      if (row.secretKeyId === null || row.secretCiphertext === null) continue;
      const from = { kid: row.secretKeyId, ciphertext: row.secretCiphertext };
      let plaintext: Buffer;
      try {
        plaintext = this.cipher.decrypt(row.name, from);
      } catch (err) {
        if (err instanceof SecretDecryptionError) throw new ConfigError(key, err.message);
        throw err;
      }
      // Lost race (a concurrent write or another replica rotating): that row is current already.
      if (
        await this.connections.reencrypt(row.name, from, this.cipher.encrypt(row.name, plaintext))
      )
        done++;
    }
    if (done > 0)
      this.logger.info('connection credentials re-encrypted with the current key', {
        count: done,
        kid: this.cipher.currentKid,
      });
    return done;
  }
}
