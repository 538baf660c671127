import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Logger, errorMessage } from '@portcullis/platform';
import { ConnectionDistributionRepository } from './connection-distribution.repository';
import { ConnectionKeyRotator } from './connection-key.rotator';
import { ConnectionPublisher } from './connection.publisher';
import { ConnectionRepository } from './connection.repository';

/** How often NATS is compared with the database (and with the registered enforcer keys). */
const RECONCILE_INTERVAL_MS = 30_000;
/** Enforcer key changes arriving within this window are handled in one round. */
const KEY_CHANGE_DEBOUNCE_MS = 100;

/**
 * Keeps the connections bucket in line with the database and the enforcer keys: at boot (after
 * re-encrypting secrets under retired keys), whenever an enforcer key is written or removed, and
 * every 30 s (keys expired by the bucket TTL, changes made while NATS was away, a wiped NATS).
 * Failures are logged and retried on the next round; they never stop the app.
 */
@Injectable()
export class ConnectionReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly logger: Logger;

  constructor(
    private readonly connections: ConnectionRepository,
    private readonly distribution: ConnectionDistributionRepository,
    private readonly publisher: ConnectionPublisher,
    private readonly rotator: ConnectionKeyRotator,
    logger: Logger,
  ) {
    this.logger = logger.child('connections');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.rotator.run();
    try {
      this.stopWatch = await this.distribution.watchEnforcerKeys(() => this.soon());
    } catch (err) {
      this.logger.warn('cannot watch enforcer keys; relying on periodic reconciliation', {
        error: errorMessage(err),
      });
    }
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.stopWatch?.();
    await this.running;
  }

  /**
   * One round over every connection, in the database or in NATS. A call during a round makes one
   * more round follow it (what changed mid-round is not missed); concurrent calls share it.
   */
  reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private soon(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reconcile(), KEY_CHANGE_DEBOUNCE_MS);
    this.debounce.unref();
  }

  private async round(): Promise<void> {
    let names: Set<string>;
    let keys;
    try {
      keys = await this.distribution.enforcerKeys();
      names = new Set((await this.connections.list()).map((c) => c.name));
      for (const n of await this.distribution.publishedNames()) names.add(n);
    } catch (err) {
      this.logger.warn('connection reconcile: cannot list connections or keys', {
        error: errorMessage(err),
      });
      return;
    }
    for (const name of names) {
      try {
        await this.publisher.publish(name, keys);
      } catch (err) {
        this.logger.warn('connection reconcile: publish failed', {
          connection: name,
          error: errorMessage(err),
        });
      }
    }
  }
}
