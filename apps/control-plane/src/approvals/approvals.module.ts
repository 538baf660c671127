import { Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HealthRegistry } from '../health/health.registry';
import { MetricsService } from '../metrics/metrics.service';
import { ApprovalChangeNotifier } from './approval-change.notifier';
import { ApprovalExpirySweeper } from './approval-expiry.sweeper';
import { ApprovalNatsController } from './approval-nats.controller';
import { ApprovalNoticeRepository } from './approval-notice.repository';
import { ApprovalOutboxRepository } from './approval-outbox.repository';
import { ApprovalVoteService } from './approval-vote.service';
import { ApprovalWebhookDispatcher } from './approval-webhook.dispatcher';
import { ApprovalWebhookRepository } from './approval-webhook.repository';
import { ApprovalMetrics } from './approval.metrics';
import { ApprovalRepository } from './approval.repository';
import { ApprovalService } from './approval.service';
import { ApprovalsController } from './approvals.controller';

/**
 * Just-in-time approvals (docs/approvals.md): enforcers escalate over NATS request-reply
 * (ApprovalNatsController, connected as a microservice in app.factory.ts), approvers answer over
 * REST, a sweeper expires, a webhook outbox notifies. The sweeper and the dispatcher start once
 * every provider exists and stop before NATS drains and the database closes.
 */
@Module({
  controllers: [ApprovalsController, ApprovalNatsController],
  providers: [
    ApprovalRepository,
    ApprovalOutboxRepository,
    ApprovalNoticeRepository,
    ApprovalWebhookRepository,
    ApprovalWebhookDispatcher,
    ApprovalChangeNotifier,
    ApprovalService,
    ApprovalVoteService,
    ApprovalExpirySweeper,
    {
      provide: ApprovalMetrics,
      inject: [MetricsService],
      useFactory: (metrics: MetricsService) => new ApprovalMetrics(metrics.registry),
    },
  ],
})
export class ApprovalsModule implements OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly sweeper: ApprovalExpirySweeper,
    private readonly dispatcher: ApprovalWebhookDispatcher,
    private readonly health: HealthRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    this.health.register(this.sweeper.name, () => this.sweeper.health());
    this.health.register(this.dispatcher.name, () => this.dispatcher.health());
    await this.sweeper.start();
    await this.dispatcher.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.dispatcher.stop();
    await this.sweeper.stop();
  }
}
