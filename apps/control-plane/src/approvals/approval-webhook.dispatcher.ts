import { Inject, Injectable } from '@nestjs/common';
import { Logger, errorMessage, type Component, type Health } from '@portcullis/platform';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { ApprovalOutboxRepository } from './approval-outbox.repository';
import type { ApprovalWebhookDeliveryEntity } from './approval-webhook-delivery.entity';
import { ApprovalWebhookRepository } from './approval-webhook.repository';
import { ApprovalWebhookSignature } from './approval-webhook.signature';
import { ApprovalMetrics } from './approval.metrics';

/** How often the outbox is looked at even when nothing was kicked (other replicas' rows, retries). */
const POLL_INTERVAL_MS = 1000;
/** Deliveries handled per round. */
const BATCH = 20;
/** First retry after 1 s, then 2 s, 4 s … capped at 5 minutes. */
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 300_000;

/** Delay before attempt `attempts + 1`, after `attempts` failed ones (1 → 1 s, 2 → 2 s, …). */
export function webhookBackoffMs(attempts: number): number {
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_MS);
}

/**
 * Delivers the webhook outbox: signs each body at send time (`Portcullis-Signature`, fresh
 * timestamp per attempt), POSTs it, and on failure retries with exponential backoff until
 * APPROVAL_WEBHOOK_MAX_ATTEMPTS, then gives up (logged and counted). Rows survive restarts; a
 * lease per row keeps replicas from sending one attempt twice. Delivery is at least once: a
 * receiver de-duplicates by `Portcullis-Event-Id`.
 */
@Injectable()
export class ApprovalWebhookDispatcher implements Component {
  readonly name = 'approval-webhook';
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private lastError: string | null = null;
  private readonly logger: Logger;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly outbox: ApprovalOutboxRepository,
    private readonly webhook: ApprovalWebhookRepository,
    private readonly metrics: ApprovalMetrics,
    logger: Logger,
  ) {
    this.logger = logger.child('approvals');
  }

  start(): Promise<void> {
    if (!this.config.approvals.webhook) return Promise.resolve();
    this.started = true;
    this.timer = setInterval(() => this.kick(), POLL_INTERVAL_MS);
    this.timer.unref();
    this.kick();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    await this.running;
  }

  health(): Health {
    if (!this.config.approvals.webhook) return { state: 'ok', detail: 'no webhook configured' };
    if (!this.started) return { state: 'stopped' };
    // A receiver that keeps failing is the receiver's problem, not a reason to take us out of
    // rotation: report it, stay ready.
    return this.lastError === null
      ? { state: 'ok' }
      : { state: 'ok', detail: `last delivery failed: ${this.lastError}` };
  }

  /** Runs a round soon; a kick during a round makes another round follow it. */
  kick(): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again && this.started);
    })().finally(() => (this.running = undefined));
  }

  private async round(): Promise<void> {
    const webhook = this.config.approvals.webhook;
    if (!webhook) return;
    let due: ApprovalWebhookDeliveryEntity[];
    try {
      due = await this.outbox.due(Date.now(), BATCH);
    } catch (err) {
      this.logger.warn('approval webhook: cannot read the outbox', { error: errorMessage(err) });
      return;
    }
    for (const d of due) {
      if (!this.started) return;
      try {
        await this.deliver(d, webhook);
      } catch (err) {
        this.logger.warn('approval webhook: outbox update failed', {
          delivery_id: d.id,
          error: errorMessage(err),
        });
      }
    }
  }

  private async deliver(
    d: ApprovalWebhookDeliveryEntity,
    webhook: NonNullable<ControlPlaneConfig['approvals']['webhook']>,
  ): Promise<void> {
    const now = Date.now();
    if (!(await this.outbox.claim(d.id, d.attempts, now, now + webhook.timeoutMs + 5000))) return;
    const signature = ApprovalWebhookSignature.header(
      webhook.secret,
      d.payload,
      Math.floor(Date.now() / 1000),
    );
    const result = await this.webhook.post(
      webhook.url,
      d.payload,
      { signature, eventId: d.id, event: d.event },
      webhook.timeoutMs,
    );
    const attempts = d.attempts + 1;
    const fields = { delivery_id: d.id, approval_id: d.approvalId, event: d.event, attempts };
    if (result.ok) {
      await this.outbox.delivered(d.id, attempts, Date.now());
      this.metrics.webhookDeliveries.inc({ result: 'delivered' });
      this.lastError = null;
      this.logger.info('approval webhook delivered', { ...fields, status: result.status });
      return;
    }
    this.lastError = result.error;
    if (attempts >= webhook.maxAttempts) {
      await this.outbox.failed(d.id, attempts, result.error, null, Date.now());
      this.metrics.webhookDeliveries.inc({ result: 'failed' });
      this.logger.error('approval webhook given up', { ...fields, error: result.error });
      return;
    }
    const delay = webhookBackoffMs(attempts);
    await this.outbox.failed(d.id, attempts, result.error, Date.now() + delay, Date.now());
    this.metrics.webhookDeliveries.inc({ result: 'retry' });
    this.logger.warn('approval webhook failed; will retry', {
      ...fields,
      error: result.error,
      retry_in_ms: delay,
    });
    this.scheduleRetry(delay);
  }

  private scheduleRetry(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.kick(), delayMs + 10);
    this.retryTimer.unref();
  }
}
