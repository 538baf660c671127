export type HealthState = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';

/** The state one component reports to the health endpoints, with a detail safe to show anyone. */
export interface Health {
  state: HealthState;
  /** Human-readable detail, never containing secrets. */
  detail?: string;
}

/**
 * A long-lived part (bundle watcher, decision publisher, consumer, child process): started once,
 * stopped once, and asked for its health by /healthz and /readyz. Modelled on OPA's plugin manager.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
}

/** Starts components in order and stops them in reverse; a failed start stops what had started. */
export class Lifecycle {
  private readonly started: Component[] = [];

  constructor(private readonly components: Component[]) {}

  async start(): Promise<void> {
    for (const c of this.components) {
      try {
        await c.start();
      } catch (err) {
        await this.stop();
        throw err;
      }
      this.started.push(c);
    }
  }

  async stop(): Promise<void> {
    for (let c = this.started.pop(); c !== undefined; c = this.started.pop()) {
      try {
        await c.stop();
      } catch {
        // Keep stopping the rest; a component that cannot stop cleanly must not keep others alive.
      }
    }
  }

  report(): { ready: boolean; components: Record<string, Health> } {
    const components: Record<string, Health> = {};
    for (const c of this.components) components[c.name] = c.health();
    const ready = Object.values(components).every((h) => h.state === 'ok');
    return { ready, components };
  }
}
