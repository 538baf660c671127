import { Counter, type Registry } from 'prom-client';

const PREFIX = 'portcullis_control_plane_approval';

/** Prometheus metrics of just-in-time approvals, on the app's registry (never the global one). */
export class ApprovalMetrics {
  readonly transitions: Counter<'status'>;
  readonly natsRequests: Counter<'subject' | 'result'>;
  readonly webhookDeliveries: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.transitions = new Counter({
      name: `${PREFIX}_transitions_total`,
      help: 'Approval requests entering a status (pending = created)',
      labelNames: ['status'],
      registers,
    });
    this.natsRequests = new Counter({
      name: `${PREFIX}_nats_requests_total`,
      help: 'Approval requests from enforcers over NATS, by subject and result (ok or error code)',
      labelNames: ['subject', 'result'],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: `${PREFIX}_webhook_deliveries_total`,
      help: 'Webhook delivery attempts: delivered, retry (failed, will retry) or failed (given up)',
      labelNames: ['result'],
      registers,
    });
  }
}
