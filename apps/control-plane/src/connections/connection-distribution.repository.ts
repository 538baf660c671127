import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  CONNECTION_NATS_NAMES,
  ENFORCER_KEY_TTL_MS,
  parseConnectionRecord,
  parseEnforcerKey,
  type ConnectionRecord,
  type EnforcerKey,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { Logger, errorMessage } from '@portcullis/platform';
import { UnavailableError } from '../errors/domain.error';
import { compareAndSetKv, kvBucketKeys, readKvForUpdate } from '../nats/kv-bucket.operations';
import { JETSTREAM_TOPOLOGY, NATS_CONNECTION } from '../nats/nats.tokens';

/** A connection entry as NATS holds it: null when absent, deleted or not a valid record. */
export interface PublishedConnection {
  record: ConnectionRecord | null;
  /** KV revision read (0: the key was never written), for compare-and-set. */
  revision: number;
}

/**
 * The only code that touches NATS for connections: reads the enforcer keys bucket, reads and
 * writes the connections bucket. NATS failures become {@link UnavailableError}.
 */
@Injectable()
export class ConnectionDistributionRepository {
  private readonly logger: Logger;

  constructor(
    @Inject(JETSTREAM_TOPOLOGY) private readonly topology: JetStreamTopology,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    logger: Logger,
  ) {
    this.logger = logger.child('connections');
  }

  /**
   * Every registered, unexpired enforcer key. An entry that breaks the contract, or whose key does
   * not match its enforcer id, is logged and left out: it receives no secret.
   */
  async enforcerKeys(): Promise<EnforcerKey[]> {
    return this.nats('read enforcer keys', async () => {
      const out: EnforcerKey[] = [];
      const oldest = Date.now() - ENFORCER_KEY_TTL_MS;
      for (const key of await kvBucketKeys(this.nc, CONNECTION_NATS_NAMES.enforcerKeysBucket)) {
        const entry = await this.topology.enforcerKeys.get(key);
        if (!entry || entry.operation !== 'PUT' || entry.length === 0) continue;
        try {
          const k = parseEnforcerKey(entry.json());
          if (k.enforcer_id !== key) throw new Error(`registered under key "${key}"`);
          // The bucket TTL removes stale keys; this covers a bucket created without one.
          if (Date.parse(k.registered_at) < oldest) continue;
          out.push(k);
        } catch (err) {
          this.logger.warn('ignoring malformed enforcer key', { key, error: errorMessage(err) });
        }
      }
      return out;
    });
  }

  /** Calls `onChange` whenever an enforcer key is written or removed; returns a stop function. */
  async watchEnforcerKeys(onChange: () => void): Promise<() => void> {
    const watch = await this.nats('watch enforcer keys', () =>
      this.topology.enforcerKeys.watch({ include: 'updates' }),
    );
    void (async () => {
      try {
        for await (const entry of watch) if (entry.key) onChange();
      } catch (err) {
        this.logger.warn('enforcer key watch ended', { error: errorMessage(err) });
      }
    })();
    return () => watch.stop();
  }

  async current(name: string): Promise<PublishedConnection> {
    const read = await this.nats('read a connection', () =>
      readKvForUpdate(this.topology.connections, name, parseConnectionRecord),
    );
    return { record: read.value, revision: read.revision };
  }

  /**
   * Writes the record only if the key is still at `revision` (compare-and-set). False when another
   * replica wrote it since it was read.
   */
  async put(record: ConnectionRecord, revision: number): Promise<boolean> {
    return this.nats(`publish connection ${record.name}`, () =>
      compareAndSetKv(this.topology.connections, record.name, JSON.stringify(record), revision),
    );
  }

  /** Removes a connection from the bucket; with history 1 its last sealed value goes too. */
  async remove(name: string): Promise<void> {
    await this.nats('remove a connection', () => this.topology.connections.purge(name));
  }

  /** Names of the connections the bucket holds (deleted ones included). */
  async publishedNames(): Promise<string[]> {
    return this.nats('list connections', () =>
      kvBucketKeys(this.nc, CONNECTION_NATS_NAMES.connectionsBucket),
    );
  }

  private async nats<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new UnavailableError(`cannot ${what} in NATS: ${errorMessage(err)}`);
    }
  }
}
