import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Component, Health, Logger } from '@portcullis/platform';
import { errorMessage, sendJson } from '@portcullis/platform';
import type { EnforcerMetrics } from '../metrics/enforcer.metrics';

/** What the admin server asks about the rest of the enforcer. */
export interface AdminProbes {
  /** Every component's health, by name. */
  components(): Record<string, Health>;
  /** Ready = connected to NATS and a policy is loaded (otherwise every call fails closed). */
  ready(): boolean;
}

/**
 * Health and metrics on their own port, never on the proxy port (where every path belongs to a
 * connection): `/healthz` (process up), `/readyz` (200 only when ready, JSON per component),
 * `/metrics` (Prometheus text).
 */
export class AdminServer implements Component {
  readonly name = 'admin';
  private server: Server | null = null;
  private boundPort = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly probes: AdminProbes,
    private readonly metrics: EnforcerMetrics,
    private readonly logger: Logger,
  ) {}

  get boundTo(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  health(): Health {
    return this.server
      ? { state: 'ok', detail: `listening on ${this.host}:${this.boundPort}` }
      : { state: 'stopped' };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'GET only' } });
      switch (path) {
        case '/healthz':
          return sendJson(res, 200, { status: 'ok' });
        case '/readyz': {
          const ready = this.probes.ready();
          return sendJson(res, ready ? 200 : 503, { ready, components: this.probes.components() });
        }
        case '/metrics': {
          const text = await this.metrics.registry.metrics();
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(text);
          return;
        }
        default:
          return sendJson(res, 404, {
            error: { code: 'not_found', message: 'admin endpoints: /healthz /readyz /metrics' },
          });
      }
    } catch (err) {
      this.logger.error('admin request failed', { path, error: errorMessage(err) });
      sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
    }
  }
}
