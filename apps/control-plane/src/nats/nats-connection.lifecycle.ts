import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, type Health } from '@portcullis/platform';
import { NATS_CONNECTION } from './nats.tokens';

/**
 * Owns the end of the shared NATS connection. It drains in `onApplicationShutdown`, which Nest
 * calls after every `onModuleDestroy`/`beforeApplicationShutdown`, so consumers stopping there
 * still have a connection.
 */
@Injectable()
export class NatsConnectionLifecycle implements OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  /** A round trip to the server: proves the connection is up, not just not-yet-closed. */
  async health(timeoutMs = 2000): Promise<Health> {
    if (this.nc.isClosed()) return { state: 'failed', detail: 'connection closed' };
    try {
      await this.nc.flush();
      const rtt = await withTimeout(this.nc.rtt(), timeoutMs);
      return { state: 'ok', detail: `rtt ${rtt.toFixed(1)} ms` };
    } catch (err) {
      return { state: 'failed', detail: errorMessage(err) };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      // Drain flushes what we published; bounded, because with the server gone it only waits.
      await withTimeout(this.nc.drain(), DRAIN_TIMEOUT_MS);
    } catch {
      await this.nc.close();
    }
  }
}

const DRAIN_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from NATS within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
