import type { NatsConnection } from '@nats-io/nats-core';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  CONNECTION_NATS_NAMES,
  ENFORCER_KEY_REFRESH_MS,
  ensureJetStreamTopology,
  parseConnectionRecord,
  sealBindingOf,
  servesConnection,
  type ConnectionRecord,
  type JetStreamTopologyOptions,
} from '@portcullis/contracts';
import { errorMessage, type Component, type Health, type Logger } from '@portcullis/platform';
import type { ConnectionConfig } from '../config/enforcer.config';
import { KvBucketFollower, type KvBucketRound } from '../nats/kv-bucket.follower';
import { EnforcerKeyPair } from './enforcer-key.pair';
import type { ConnectionSource, InjectedCredential, ResolvedConnection } from './connection.types';

/** What the registry needs of the enforcer's NATS client (NatsClient). */
export interface RegistryNats {
  whenConnected(): Promise<NatsConnection>;
  isConnected(): boolean;
}

/** Construction options of {@link ConnectionRegistry}. */
export interface ConnectionRegistryOptions {
  /** ENFORCER_ID: the key under which this enforcer registers its public key. */
  enforcerId: string;
  /** Connections from ENFORCER_CONNECTIONS_FILE; on a name clash they win over the control plane's. */
  fileConnections: readonly ConnectionConfig[];
  /** ENFORCER_SERVES: control-plane connections to load, `['*']` (default) for all. */
  serves?: readonly string[];
  /** Replicas etc., as for every other JetStream user in the enforcer. */
  topology: JetStreamTopologyOptions;
  /** How often the public key is re-registered; default ENFORCER_KEY_REFRESH_MS (60 s). */
  keyRefreshMs?: number;
}

/**
 * The connections this enforcer serves: those of its connections file, merged with those the
 * control plane distributes over NATS (the file wins on a name clash, with one warning). At start
 * it generates a key pair whose private half never leaves the process, and registers the public
 * key with the names it serves; the control plane seals each connection's secret to it. Changes
 * (new connections, rotated credentials, deletes) take effect without a restart: `get` reads one
 * immutable map that is swapped as a whole. NATS being away at start only delays the control
 * plane's connections; file connections serve at once.
 */
export class ConnectionRegistry implements Component, ConnectionSource {
  readonly name = 'connections';
  private readonly serves: readonly string[];
  private readonly file: ReadonlyMap<string, ResolvedConnection>;
  private remote = new Map<string, ResolvedConnection>();
  /** What `get` reads: file connections over control-plane ones. Replaced, never mutated. */
  private merged: ReadonlyMap<string, ResolvedConnection>;
  private readonly shadowWarned = new Set<string>();
  /** Why each connection's credentials are unavailable, as last logged: each reason is logged once. */
  private readonly unavailableLogged = new Map<string, string>();
  private readonly listeners: (() => void)[] = [];
  private keys: EnforcerKeyPair | null = null;
  private stopped = false;
  private watching = false;
  private lastError: string | null = null;
  private readonly follower: KvBucketFollower;
  private heartbeat: NodeJS.Timeout | null = null;
  private keysKv: KV | null = null;

  constructor(
    private readonly nats: RegistryNats,
    private readonly opts: ConnectionRegistryOptions,
    private readonly logger: Logger,
  ) {
    this.serves = opts.serves ?? ['*'];
    this.file = new Map(
      opts.fileConnections.map((c) => [
        c.name,
        Object.freeze({
          name: c.name,
          type: 'http' as const,
          url: c.url,
          labels: c.labels,
          credentials: c.credentials ?? null,
          source: 'file' as const,
        }),
      ]),
    );
    this.merged = this.file;
    this.follower = new KvBucketFollower(nats, 'connection', this.rounds(), logger);
  }

  /** The connection as it is now, or null; one map lookup (the per-call path). */
  get(name: string): ResolvedConnection | null {
    return this.merged.get(name) ?? null;
  }

  /** Every connection served now, by name. */
  list(): ResolvedConnection[] {
    return [...this.merged.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Called after every change of the served set (a connection added, changed or removed). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The `kid` of this process's key, as recipients in sealed secrets name it (after start). */
  get keyId(): string | null {
    return this.keys?.kid ?? null;
  }

  async start(): Promise<void> {
    this.keys = await EnforcerKeyPair.generate();
    this.follower.start();
    this.heartbeat = setInterval(
      () => void this.register(),
      this.opts.keyRefreshMs ?? ENFORCER_KEY_REFRESH_MS,
    );
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const ended = this.follower.stop();
    // Unregister so the control plane stops sealing to a key that is about to vanish; best effort.
    const kv = this.keysKv;
    if (kv && this.nats.isConnected()) {
      await Promise.race([
        kv.delete(this.opts.enforcerId).catch(() => undefined),
        new Promise((r) => setTimeout(r, 1000).unref()),
      ]);
    }
    await ended;
  }

  health(): Health {
    if (this.stopped) return { state: 'stopped' };
    const all = [...this.merged.values()];
    const unavailable = all
      .filter((c) => c.credentials === 'unavailable')
      .map((c) => c.name)
      .sort();
    const detail =
      `${this.file.size} from file, ${this.remote.size} from the control plane` +
      (unavailable.length > 0 ? `; credentials unavailable: ${unavailable.join(', ')}` : '');
    if (this.watching) return { state: 'ok', detail };
    return {
      state: this.lastError ? 'degraded' : 'starting',
      detail: `${detail}; not following the control plane${this.lastError ? `: ${this.lastError}` : ' yet'}`,
    };
  }

  /** The follower's rounds: register and prune on each (re)connection, then apply every entry. */
  private rounds(): KvBucketRound {
    return {
      open: async (nc) => {
        const topo = await ensureJetStreamTopology(nc, this.opts.topology, 'client');
        this.keysKv = topo.enforcerKeys;
        await this.register();
        await this.prune(nc);
        return { bucket: topo.connections };
      },
      watching: () => {
        this.watching = true;
        this.lastError = null;
      },
      entry: (entry) => this.apply(entry),
      ended: (err) => {
        this.watching = false;
        if (err !== null) this.lastError = errorMessage(err);
      },
    };
  }

  /** (Re-)registers this enforcer's public key and what it serves; the bucket TTL expires it otherwise. */
  private async register(): Promise<void> {
    const kv = this.keysKv;
    const keys = this.keys;
    if (!kv || !keys || this.stopped || !this.nats.isConnected()) return;
    try {
      await kv.put(
        this.opts.enforcerId,
        JSON.stringify(keys.registration(this.opts.enforcerId, this.serves)),
      );
    } catch (err) {
      this.logger.warn('enforcer key not registered', { error: errorMessage(err) });
    }
  }

  /**
   * Drops control-plane connections no longer in the bucket. A delete made while this enforcer
   * was away may not come back as a marker on the next watch, so the bucket's keys are the truth.
   */
  private async prune(nc: NatsConnection): Promise<void> {
    const bucket = CONNECTION_NATS_NAMES.connectionsBucket;
    const prefix = `$KV.${bucket}.`;
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}>` });
    const present = new Set(
      Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length)),
    );
    let changed = false;
    for (const name of [...this.remote.keys()]) {
      if (!present.has(name)) {
        this.remote.delete(name);
        changed = true;
      }
    }
    if (changed) this.swap();
  }

  private async apply(entry: KvWatchEntry): Promise<void> {
    const name = entry.key;
    if (entry.operation !== 'PUT' || entry.length === 0) {
      this.unavailableLogged.delete(name);
      if (this.remote.delete(name)) {
        this.logger.info('connection removed', { connection: name });
        this.swap();
      }
      return;
    }
    let record: ConnectionRecord;
    try {
      record = parseConnectionRecord(entry.json<unknown>());
      if (record.name !== name) throw new Error(`record names "${record.name}"`);
    } catch (err) {
      // Fail closed: a connection whose record cannot be trusted is not served at all.
      this.logger.error('ignoring a malformed connection record', {
        connection: name,
        error: errorMessage(err),
      });
      if (this.remote.delete(name)) this.swap();
      return;
    }
    if (!servesConnection(this.serves, name)) {
      if (this.remote.delete(name)) this.swap();
      return;
    }
    if (this.file.has(name)) {
      if (!this.shadowWarned.has(name)) {
        this.shadowWarned.add(name);
        this.logger.warn('connection defined in the file and by the control plane; the file wins', {
          connection: name,
        });
      }
      return;
    }
    const next: ResolvedConnection = Object.freeze({
      name,
      type: 'http',
      url: new URL(record.url),
      labels: Object.freeze({ ...record.labels }),
      credentials: await this.credentials(record),
      source: 'control-plane',
    });
    const previous = this.remote.get(name);
    // Same content keeps the same object: the HTTP adapter keys its upstream pool on identity.
    if (previous && sameConnection(previous, next)) return;
    this.remote.set(name, next);
    this.logger.info(previous ? 'connection changed' : 'connection added', {
      connection: name,
      revision: record.revision,
      credentials:
        next.credentials === null
          ? 'none'
          : next.credentials === 'unavailable'
            ? 'unavailable'
            : next.credentials.type,
    });
    this.swap();
  }

  /**
   * The record's credential in clear, or 'unavailable' (fail closed) when it is not sealed to this
   * enforcer or was sealed for other clear fields than the record's (URL, credential type, header
   * name, connection, rotation): a sealed secret pasted onto a record that would send it to
   * another host or header is refused, not injected.
   */
  private async credentials(
    record: ConnectionRecord,
  ): Promise<InjectedCredential | null | 'unavailable'> {
    const c = record.credentials;
    const expected = sealBindingOf(record);
    if (c === null || expected === null) {
      this.unavailableLogged.delete(record.name);
      return null;
    }
    const keys = this.keys;
    const recipient = c.jwe?.recipients.find((r) => r.header.kid === keys?.kid);
    if (!c.jwe || !recipient || !keys) {
      this.unavailable(
        record.name,
        'warn',
        'connection credentials not sealed to this enforcer (not on its allow-list, not serving it, or not yet); calls fail closed',
      );
      return 'unavailable';
    }
    try {
      const secret = await keys.open(c.jwe, recipient, expected);
      if (secret.rotated_at !== c.rotated_at)
        throw new Error('sealed secret is of another rotation than the record');
      this.unavailableLogged.delete(record.name);
      return secret.credential;
    } catch (err) {
      // The reason names fields (never values); errors from jose and the parser quote no secret.
      this.unavailable(
        record.name,
        'error',
        'connection credentials refused; calls fail closed',
        errorMessage(err),
      );
      return 'unavailable';
    }
  }

  /** Logs why a connection's credentials are unavailable, once per connection and reason. */
  private unavailable(
    connection: string,
    level: 'warn' | 'error',
    message: string,
    reason = message,
  ): void {
    if (this.unavailableLogged.get(connection) === reason) return;
    this.unavailableLogged.set(connection, reason);
    const fields = reason === message ? { connection } : { connection, reason };
    if (level === 'warn') this.logger.warn(message, fields);
    else this.logger.error(message, fields);
  }

  private swap(): void {
    const merged = new Map(this.remote);
    for (const [name, c] of this.file) merged.set(name, c);
    this.merged = merged;
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.logger.warn('connection change listener failed', { error: errorMessage(err) });
      }
    }
  }
}

function sameConnection(a: ResolvedConnection, b: ResolvedConnection): boolean {
  return (
    a.url.href === b.url.href &&
    JSON.stringify(a.labels) === JSON.stringify(b.labels) &&
    JSON.stringify(a.credentials) === JSON.stringify(b.credentials)
  );
}
