import { Inject, Injectable } from '@nestjs/common';
import { Logger, errorMessage, type Component, type Health } from '@portcullis/platform';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { ApprovalChangeNotifier } from './approval-change.notifier';
import { ApprovalRepository } from './approval.repository';

/** Requests expired per round; the rest wait for the next round. */
const BATCH = 100;

/**
 * Marks pending and approved-but-unused requests past their expiry as expired (event, webhook,
 * notice), every APPROVAL_SWEEP_INTERVAL_MS. Readers never depend on it: every check treats a
 * request past its expiry as expired already. Replicas may sweep at once; the conditional update
 * lets exactly one of them record each expiry.
 */
@Injectable()
export class ApprovalExpirySweeper implements Component {
  readonly name = 'approval-sweeper';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private lastError: string | null = null;
  private readonly logger: Logger;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly approvals: ApprovalRepository,
    private readonly notifier: ApprovalChangeNotifier,
    logger: Logger,
  ) {
    this.logger = logger.child('approvals');
  }

  start(): Promise<void> {
    this.started = true;
    this.timer = setInterval(() => void this.sweep(), this.config.approvals.sweepIntervalMs);
    this.timer.unref();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.timer);
    await this.running;
  }

  health(): Health {
    if (!this.started) return { state: 'stopped' };
    return this.lastError === null
      ? { state: 'ok' }
      : { state: 'degraded', detail: `last sweep failed: ${this.lastError}` };
  }

  /** One round; concurrent calls share it. */
  sweep(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    try {
      const now = Date.now();
      for (const id of await this.approvals.dueForExpiry(now, BATCH)) {
        if (!this.started) break;
        const actor = { kind: 'clock' } as const;
        const row = await this.approvals.expire(
          id,
          now,
          this.notifier.records('expired', actor, now),
        );
        if (row) this.notifier.announce('expired', row, actor, now);
      }
      this.lastError = null;
    } catch (err) {
      this.lastError = errorMessage(err);
      this.logger.warn('approval expiry sweep failed; retrying next round', {
        error: this.lastError,
      });
    }
  }
}
