import { spawn, type ChildProcess } from 'node:child_process';

/** Output lines kept per child: enough for a whole e2e file, so specs can scan logs for secrets. */
const TAIL_LINES = 20_000;

const running = new Set<ChildProcess>();
// A crashed or interrupted test run must not leave servers behind on the machine.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** How to run one built app as a child process: the command, its environment and how to label it. */
export interface AppProcessOptions {
  /** Label used in logs and error messages ("control-plane", "enforcer e2e-1"). */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Stream the child's output to stderr, prefixed (PORTCULLIS_E2E_LOGS=1 turns it on). */
  echo?: boolean;
}

/**
 * One built Portcullis app (or tool) running as a child process. `start()` resolves when the
 * child prints its `{"msg":"listening"}` JSON line and rejects, with the child's last output,
 * if it exits or stays silent first. `stop()` sends SIGTERM, waits, and escalates to SIGKILL.
 */
export class AppProcess {
  private child: ChildProcess | null = null;

  /** The running child's process id (to prove a change applied without a restart), or null. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }
  private readonly tail: string[] = [];
  private listening: Record<string, unknown> | null = null;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly lineWaiters = new Set<(line: string) => void>();

  constructor(readonly opts: AppProcessOptions) {}

  /** The parsed `listening` log line (carries the ports the app bound). */
  get listeningLine(): Record<string, unknown> {
    if (!this.listening) throw new Error(`${this.opts.name} has not reported listening`);
    return this.listening;
  }

  get exited(): boolean {
    return this.exitInfo !== null;
  }

  /** The last lines the child wrote to stdout and stderr, oldest first. */
  output(): string[] {
    return [...this.tail];
  }

  /**
   * Starts the child; after {@link stop} it may be called again (a restart with the same
   * command and environment). Output of earlier runs stays in {@link output}.
   */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child && !this.exitInfo) throw new Error(`${this.opts.name} is already running`);
    this.listening = null;
    this.exitInfo = null;
    const child = spawn(this.opts.command, this.opts.args, {
      cwd: this.opts.cwd,
      env: this.opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(child);
    const onData = (stream: 'out' | 'err') => {
      let partial = '';
      return (chunk: Buffer) => {
        partial += chunk.toString('utf8');
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.record(stream, line);
      };
    };
    child.stdout?.on('data', onData('out'));
    child.stderr?.on('data', onData('err'));
    child.once('exit', (code, signal) => {
      running.delete(child);
      this.exitInfo = { code, signal };
      for (const w of this.lineWaiters) w('');
    });

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiters.delete(waiter);
        reject(this.failure(`did not report listening within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = () => {
        if (this.listening) {
          clearTimeout(timer);
          this.lineWaiters.delete(waiter);
          resolve();
        } else if (this.exitInfo) {
          clearTimeout(timer);
          this.lineWaiters.delete(waiter);
          reject(
            this.failure(
              `exited before listening (code ${this.exitInfo.code}, signal ${this.exitInfo.signal})`,
            ),
          );
        }
      };
      this.lineWaiters.add(waiter);
      waiter();
    });
  }

  /** Resolves with the first output line matching `pattern` (already printed lines count). */
  async waitForLine(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.tail.find((l) => pattern.test(l));
    if (seen) return seen;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiters.delete(waiter);
        reject(this.failure(`printed no line matching ${String(pattern)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (line: string) => {
        if (pattern.test(line)) {
          clearTimeout(timer);
          this.lineWaiters.delete(waiter);
          resolve(line);
        }
      };
      this.lineWaiters.add(waiter);
    });
  }

  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || this.exitInfo) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the child with SIGKILL (a crash: no shutdown hooks run) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || this.exitInfo) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** An Error naming this app, carrying its last output lines. */
  failure(what: string): Error {
    return new Error(
      `${this.opts.name} ${what}\n--- last output of ${this.opts.name} ---\n${this.tail.slice(-40).join('\n')}`,
    );
  }

  private record(stream: 'out' | 'err', line: string): void {
    if (line.length === 0) return;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.opts.echo)
      process.stderr.write(`[${this.opts.name}${stream === 'err' ? ' !' : ''}] ${line}\n`);
    if (!this.listening && line.startsWith('{')) {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === 'listening') this.listening = parsed;
      } catch {
        // Not a JSON log line; only the listening line matters here.
      }
    }
    for (const w of this.lineWaiters) w(line);
  }
}
