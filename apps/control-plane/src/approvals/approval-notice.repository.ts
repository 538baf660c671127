import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { approvalChangedSubject, type ApprovalState } from '@portcullis/contracts';
import { NATS_CONNECTION } from '../nats/nats.tokens';

/**
 * Core-NATS notices on `portcullis.approvals.changed.<id>`: an enforcer holding a call waits on
 * its request's subject instead of polling. Fire-and-forget by design: a missed notice costs the
 * enforcer one `get` round trip, never a wrong answer (consume decides, not the notice).
 */
@Injectable()
export class ApprovalNoticeRepository {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  publish(state: ApprovalState): void {
    this.nc.publish(approvalChangedSubject(state.approval_id), JSON.stringify(state));
  }
}
