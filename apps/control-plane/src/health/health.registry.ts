import { Injectable } from '@nestjs/common';
import type { Health } from '@portcullis/platform';

/** A readiness probe of one dependency or long-lived part; it must answer within a few seconds. */
export type HealthCheck = () => Health | Promise<Health>;

/**
 * Where parts of the app register what /readyz reports. Capabilities with a long-lived component
 * (a JetStream consumer …) call `register('decisions-consumer', () => consumer.health())` in their
 * constructor or `onModuleInit`. Names are unique.
 */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();

  register(name: string, check: HealthCheck): void {
    if (this.checks.has(name)) throw new Error(`health check "${name}" registered twice`);
    this.checks.set(name, check);
  }

  entries(): [string, HealthCheck][] {
    return [...this.checks.entries()];
  }
}
