import { Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Logger } from '@portcullis/platform';
import { HealthRegistry } from '../health/health.registry';
import { MetricsService } from '../metrics/metrics.service';
import {
  DECISION_CONSUMER_OPTIONS,
  DEFAULT_DECISION_CONSUMER_OPTIONS,
} from './decision-consumer.options';
import { CallController } from './call.controller';
import { DecisionStreamConsumer } from './decision-stream.consumer';
import { DecisionController } from './decision.controller';
import { DecisionMetrics } from './decision.metrics';
import { DecisionRepository } from './decision.repository';
import { DecisionService } from './decision.service';

/**
 * The decision log: ingests DecisionEvents from JetStream into the database and serves them to
 * auditors (`GET /v1/decisions[/{decision_id}]`, and as calls `GET /v1/calls[/{decision_id}]`). Relies on the global
 * NatsModule, DatabaseModule (TypeORM DataSource), MetricsModule, HealthModule and LoggingModule.
 * The consumer starts once every provider exists (the database is migrated by then) and stops
 * before the NATS connection drains and the database closes (those close in onApplicationShutdown).
 */
@Module({
  controllers: [DecisionController, CallController],
  providers: [
    DecisionRepository,
    DecisionService,
    DecisionStreamConsumer,
    { provide: DECISION_CONSUMER_OPTIONS, useValue: DEFAULT_DECISION_CONSUMER_OPTIONS },
    {
      provide: DecisionMetrics,
      inject: [MetricsService],
      useFactory: (metrics: MetricsService) => new DecisionMetrics(metrics.registry),
    },
  ],
  exports: [DecisionService],
})
export class DecisionsModule implements OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly consumer: DecisionStreamConsumer,
    private readonly health: HealthRegistry,
    private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    this.health.register(this.consumer.name, () => this.consumer.health());
    await this.consumer.start();
    this.logger.child('decisions').info('decision consumer started');
  }

  async onModuleDestroy(): Promise<void> {
    await this.consumer.stop();
  }
}
