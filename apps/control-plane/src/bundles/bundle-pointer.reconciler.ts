import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Logger, errorMessage } from '@portcullis/platform';
import { BundlePublisher } from './bundle.publisher';
import { BundleRepository } from './bundle.repository';

/** How often NATS is compared with the database after boot. */
const RECONCILE_INTERVAL_MS = 30_000;

/**
 * Keeps NATS in line with the database: at boot (a wiped or new NATS gets every active version
 * back) and then periodically (an activation whose pointer write failed is published later).
 * Failures are logged and retried on the next round; they never stop the app.
 */
@Injectable()
export class BundlePointerReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly bundles: BundleRepository,
    private readonly publisher: BundlePublisher,
    logger: Logger,
  ) {
    this.logger = logger.child('bundles');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round over every active bundle; concurrent calls share the round in progress. */
  reconcile(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    let active;
    try {
      active = await this.bundles.listActive();
    } catch (err) {
      this.logger.warn('bundle reconcile: cannot list active bundles', {
        error: errorMessage(err),
      });
      return;
    }
    for (const b of active) {
      try {
        await this.publisher.publish(b.name);
      } catch (err) {
        this.logger.warn('bundle reconcile: publish failed', {
          bundle: b.name,
          error: errorMessage(err),
        });
      }
    }
  }
}
