import { Injectable } from '@nestjs/common';
import {
  CONNECTION_RECORD_SCHEMA,
  CONNECTION_SECRET_SCHEMA,
  parseConnectionCredential,
  sealBindingMismatch,
  sealBindingOf,
  sealBindingOfJwe,
  type ConnectionRecord,
  type CredentialType,
  type EnforcerKey,
} from '@portcullis/contracts';
import { UnavailableError } from '../errors/domain.error';
import { ConnectionDistributionRepository } from './connection-distribution.repository';
import { mayReceiveSecret } from './connection-enforcers.allow-list';
import { ConnectionSecretCipher } from './connection-secret.cipher';
import { ConnectionSecretSealer } from './connection-secret.sealer';
import type { ConnectionEntity } from './connection.entity';
import { ConnectionRepository } from './connection.repository';

/** Compare-and-set rounds before giving up; each lost round means another replica just wrote. */
const MAX_PUBLISH_ATTEMPTS = 8;

/** What a publish did, for logs and tests. */
export type PublishOutcome = 'published' | 'unchanged' | 'removed' | 'absent';

/**
 * Makes the connections bucket show what the database holds, each secret sealed to the enforcers
 * that are on the connection's allow-list and serve it. API writes and the reconciler both go
 * through {@link publish}, which re-reads the database under a per-connection lock and writes with
 * compare-and-set on the KV revision, so a slow publish never overwrites a newer change (the same
 * scheme as BundlePublisher).
 */
@Injectable()
export class ConnectionPublisher {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly connections: ConnectionRepository,
    private readonly distribution: ConnectionDistributionRepository,
    private readonly cipher: ConnectionSecretCipher,
    private readonly sealer: ConnectionSecretSealer,
  ) {}

  /**
   * Publishes (or removes) one connection. `keys`: the registered enforcer keys when the caller
   * already read them (a reconcile round); otherwise they are read here.
   */
  publish(name: string, keys?: readonly EnforcerKey[]): Promise<PublishOutcome> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.publishNow(name, keys));
    this.locks.set(name, run);
    void run
      .finally(() => {
        if (this.locks.get(name) === run) this.locks.delete(name);
      })
      .catch(() => undefined);
    return run;
  }

  private async publishNow(name: string, given?: readonly EnforcerKey[]): Promise<PublishOutcome> {
    const keys = given ?? (await this.distribution.enforcerKeys());
    for (let attempt = 1; ; attempt++) {
      // KV first, database second, then compare-and-set: see BundlePublisher for why this order.
      const current = await this.distribution.current(name);
      const row = await this.connections.find(name);
      if (!row) {
        if (current.revision === 0 || current.record === null) return 'absent';
        await this.distribution.remove(name);
        return 'removed';
      }
      const recipients = await this.recipients(row, keys);
      if (current.record && upToDate(current.record, row, recipients)) return 'unchanged';
      const record = await this.record(row, recipients);
      if (await this.distribution.put(record, current.revision)) return 'published';
      if (attempt >= MAX_PUBLISH_ATTEMPTS)
        throw new UnavailableError(`connection ${name} kept changing in NATS; retry`);
    }
  }

  /**
   * Keys the connection's secret is sealed to, when it has one: enforcers on its allow-list (the
   * control plane's choice; what an enforcer claims to serve is not trusted alone) that also serve
   * it, with a usable key.
   */
  private async recipients(
    row: ConnectionEntity,
    keys: readonly EnforcerKey[],
  ): Promise<EnforcerKey[]> {
    if (row.credentialType === null) return [];
    const allowed = JSON.parse(row.enforcers) as string[];
    const out: EnforcerKey[] = [];
    for (const k of keys)
      if (mayReceiveSecret(allowed, k, row.name) && (await this.sealer.usable(k))) out.push(k);
    return out;
  }

  private async record(
    row: ConnectionEntity,
    recipients: EnforcerKey[],
  ): Promise<ConnectionRecord> {
    let credentials: ConnectionRecord['credentials'] = null;
    if (row.credentialType !== null) {
      const rotatedAt = new Date(row.credentialsRotatedAtMs ?? row.updatedAtMs).toISOString();
      let jwe = null;
      if (recipients.length > 0) {
        if (row.secretKeyId === null || row.secretCiphertext === null)
          throw new Error(`connection ${row.name} has a credential type but no stored secret`);
        const plaintext = this.cipher.decrypt(row.name, {
          kid: row.secretKeyId,
          ciphertext: row.secretCiphertext,
        });
        const credential = parseConnectionCredential(
          JSON.parse(plaintext.toString('utf8')),
          'stored credential',
        );
        jwe = await this.sealer.seal(
          {
            schema: CONNECTION_SECRET_SCHEMA,
            connection: row.name,
            url: row.url,
            rotated_at: rotatedAt,
            credential,
          },
          recipients,
        );
      }
      credentials = {
        type: row.credentialType as CredentialType,
        header_name: row.credentialHeaderName,
        rotated_at: rotatedAt,
        jwe,
      };
    }
    return {
      schema: CONNECTION_RECORD_SCHEMA,
      name: row.name,
      type: 'http',
      url: row.url,
      labels: JSON.parse(row.labels) as Record<string, string>,
      credentials,
      revision: row.revision,
      updated_at: new Date(row.updatedAtMs).toISOString(),
    };
  }
}

/**
 * Same database revision, the secret sealed to exactly the enforcers that should hold it, and
 * bound to the record's clear fields (a secret sealed before bindings existed is re-sealed).
 */
function upToDate(
  published: ConnectionRecord,
  row: ConnectionEntity,
  recipients: EnforcerKey[],
): boolean {
  // A wiped and re-filled database restarts revisions, so the content is compared as well.
  if (
    published.revision !== row.revision ||
    published.url !== row.url ||
    JSON.stringify(published.labels) !== row.labels ||
    (published.credentials?.type ?? null) !== row.credentialType ||
    (published.credentials?.header_name ?? null) !== row.credentialHeaderName
  )
    return false;
  if (row.credentialType === null) return true;
  if (
    published.credentials?.rotated_at !==
    new Date(row.credentialsRotatedAtMs ?? row.updatedAtMs).toISOString()
  )
    return false;
  const jwe = published.credentials.jwe;
  if (jwe) {
    const bound = sealBindingOfJwe(jwe);
    const expected = sealBindingOf(published);
    if (!bound || !expected || sealBindingMismatch(bound, expected) !== null) return false;
  }
  const sealedTo = (jwe?.recipients ?? []).map((r) => r.header.kid).sort();
  const wanted = recipients.map((k) => k.kid).sort();
  return sealedTo.length === wanted.length && sealedTo.every((kid, i) => kid === wanted[i]);
}
