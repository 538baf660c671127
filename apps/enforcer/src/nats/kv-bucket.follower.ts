import type { NatsConnection } from '@nats-io/nats-core';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import { errorMessage, type Logger } from '@portcullis/platform';

/**
 * What a {@link KvBucketFollower} asks of its owner on every round (each (re)connection or
 * re-watch). Hooks run in this order: `open`, `watching`, `entry` per entry, then `ended`.
 */
export interface KvBucketRound {
  /** Prepares a round on a connected client (topology, registrations); names the bucket and key to watch. */
  open(nc: NatsConnection): Promise<{ bucket: KV; key?: string }>;
  /** The watch is open on a bucket created at `created` (a re-created bucket restarts revisions at 1). */
  watching?(created: string): void;
  /** One watched entry; awaited before the next. */
  entry(entry: KvWatchEntry): void | Promise<void>;
  /** The round ended: with the error that ended it, or null when the watch just ended. Not called once stopped. */
  ended?(error: unknown): void;
}

/** How often a running watch checks that its bucket still exists (a deleted bucket goes silent). */
const BUCKET_CHECK_MS = 2000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

/**
 * Follows one KV bucket forever: waits for NATS, watches, and on any end or failure watches
 * again with backoff. A watch on a deleted bucket neither ends nor errors, it just stays silent,
 * so a running watch also ends when its bucket is gone or was re-created; the next round
 * re-creates or re-opens it.
 */
export class KvBucketFollower {
  private stopped = false;
  private stopWatch: (() => void) | null = null;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly nats: { whenConnected(): Promise<NatsConnection> },
    /** Names the watch in log lines ("bundle", "connection"). */
    private readonly what: string,
    private readonly round: KvBucketRound,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /**
   * Stops at once (no further hook runs after the current one) and resolves when the loop has
   * ended, or after one second: the loop may be parked waiting for NATS that never comes.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.stopWatch?.();
    return Promise.race([this.loop, new Promise<void>((r) => setTimeout(r, 1000).unref())]);
  }

  private async run(): Promise<void> {
    let delay = FIRST_RETRY_MS;
    while (!this.stopped) {
      try {
        await this.watchOnce(() => (delay = FIRST_RETRY_MS));
        if (this.stopped) return;
        this.round.ended?.(null);
        this.logger.warn(`${this.what} watch ended; watching again`);
      } catch (err) {
        if (this.stopped) return;
        this.round.ended?.(err);
        this.logger.warn(`${this.what} watch failed; retrying`, { error: errorMessage(err) });
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }

  private async watchOnce(opened: () => void): Promise<void> {
    const nc = await this.nats.whenConnected();
    if (this.stopped) return;
    const { bucket, key } = await this.round.open(nc);
    const created = String((await bucket.status()).streamInfo.created);
    const watch = await bucket.watch(key === undefined ? {} : { key });
    this.stopWatch = () => watch.stop();
    if (this.stopped) watch.stop();
    opened();
    this.round.watching?.(created);
    const guard = setInterval(() => {
      bucket.status().then(
        (st) => {
          if (String(st.streamInfo.created) !== created) watch.stop();
        },
        () => watch.stop(),
      );
    }, BUCKET_CHECK_MS);
    guard.unref();
    try {
      for await (const entry of watch) await this.round.entry(entry);
    } finally {
      clearInterval(guard);
    }
  }
}
