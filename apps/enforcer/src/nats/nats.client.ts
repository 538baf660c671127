import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { natsAuthOptions, natsConnectError, natsServers } from '@portcullis/contracts';
import {
  describeNatsAuth,
  redactUrl,
  type Component,
  type Health,
  type Logger,
  type NatsAuth,
} from '@portcullis/platform';
import type { EnforcerMetrics } from '../metrics/enforcer.metrics';

/**
 * The enforcer's one NATS connection. Starting never waits for NATS: the proxy must come up and
 * fail closed even while NATS is away. It connects in the background and reconnects forever;
 * users await {@link NatsClient.whenConnected}.
 */
export class NatsClient implements Component {
  readonly name = 'nats';
  private nc: NatsConnection | null = null;
  private connected = false;
  private stopped = false;
  private lastError: string | null = null;
  private waiters: ((nc: NatsConnection) => void)[] = [];

  constructor(
    private readonly url: string,
    private readonly clientName: string,
    private readonly metrics: EnforcerMetrics,
    private readonly logger: Logger,
    /** How to log in (config.natsAuth); anonymous when omitted. */
    private readonly auth: NatsAuth = { method: 'none' },
  ) {}

  async start(): Promise<void> {
    void this.connectLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const nc = this.nc;
    this.nc = null;
    this.setConnected(false);
    if (nc && !nc.isClosed()) {
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    }
  }

  health(): Health {
    if (this.stopped) return { state: 'stopped' };
    if (this.connected) return { state: 'ok', detail: `connected to ${redactUrl(this.url)}` };
    return {
      state: 'degraded',
      detail: `not connected to ${redactUrl(this.url)}${this.lastError ? `: ${this.lastError}` : ''}`,
    };
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** The connection once (re)established; never resolves after stop. */
  whenConnected(): Promise<NatsConnection> {
    if (this.nc && this.connected) return Promise.resolve(this.nc);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async connectLoop(): Promise<void> {
    let delay = 250;
    while (!this.stopped) {
      try {
        const nc = await connect({
          servers: natsServers(this.url),
          ...natsAuthOptions(this.auth),
          name: this.clientName,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 1000,
          // Each request would otherwise capture a stack trace up front, in case it fails: a
          // measurable share of CPU at thousands of decision events per second.
          noAsyncTraces: true,
        });
        if (this.stopped) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.setConnected(true);
        this.logger.info('nats connected', {
          url: redactUrl(this.url),
          auth: describeNatsAuth(this.auth),
        });
        void this.watchStatus(nc);
        const closed = await nc.closed();
        this.setConnected(false);
        if (this.stopped) return;
        this.lastError =
          closed instanceof Error ? natsConnectError(closed, this.auth) : 'connection closed';
        this.logger.warn('nats connection closed; reconnecting', { error: this.lastError });
      } catch (err) {
        // A refused login is retried like an unreachable server: the credentials may be fixed
        // on the server side (or the user created) without restarting every enforcer.
        this.lastError = natsConnectError(err, this.auth);
        if (delay === 250)
          this.logger.warn('nats connect failed; retrying', {
            url: redactUrl(this.url),
            error: this.lastError,
          });
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 5000);
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    // Only connectivity changes matter here; the other status events are informational.
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.setConnected(false);
        this.logger.warn('nats disconnected', { server: s.server });
      } else if (s.type === 'reconnect') {
        this.setConnected(true);
        this.logger.info('nats reconnected', { server: s.server });
      }
    }
  }

  private setConnected(connected: boolean): void {
    this.connected = connected;
    this.metrics.natsConnected.set(connected ? 1 : 0);
    if (connected && this.nc) {
      const nc = this.nc;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w(nc);
    }
  }
}
