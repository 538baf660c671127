import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { errorMessage, type Health } from '@portcullis/platform';
import type { DataSource } from 'typeorm';
import { NatsConnectionLifecycle } from '../nats/nats-connection.lifecycle';
import type { LivenessDto, ReadinessDto } from './health.dto';
import { HealthRegistry } from './health.registry';

const CHECK_TIMEOUT_MS = 3000;

/**
 * Registers the database and NATS checks and runs all registered checks in parallel, each bounded
 * by a timeout so a hung dependency reports failed instead of hanging the probe. The database
 * check queries the DataSource directly: a probe exists to touch the real thing, so it does not
 * go through a repository.
 */
@Injectable()
export class HealthService implements OnModuleInit {
  constructor(
    private readonly registry: HealthRegistry,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly nats: NatsConnectionLifecycle,
  ) {}

  onModuleInit(): void {
    this.registry.register('database', async () => {
      await this.dataSource.query('SELECT 1');
      return { state: 'ok' };
    });
    this.registry.register('nats', () => this.nats.health(CHECK_TIMEOUT_MS));
  }

  liveness(): LivenessDto {
    return { status: 'ok', uptime_s: Math.round(process.uptime()) };
  }

  /** Runs every registered check in parallel; ready only when all are ok. */
  async readiness(): Promise<ReadinessDto> {
    const entries = this.registry.entries();
    const results = await Promise.all(entries.map(([, check]) => runCheck(check)));
    const components: Record<string, Health> = {};
    entries.forEach(([name], i) => (components[name] = results[i]));
    return { ready: results.every((h) => h.state === 'ok'), components };
  }
}

async function runCheck(check: () => Health | Promise<Health>): Promise<Health> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<Health>((resolve) => {
      timer = setTimeout(
        () => resolve({ state: 'failed', detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
        CHECK_TIMEOUT_MS,
      );
    });
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (err) {
    return { state: 'failed', detail: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}
