import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort, waitFor } from './ports';
import { toolPath } from './tools';

/**
 * A real nats-server with JetStream on a loopback port and a throwaway store directory.
 * `halt()`/`resume()` stop it with SIGTERM, the way an operator or systemd would, and start it
 * again on the SAME port and store, so streams, consumers and KV survive and clients reconnect to
 * the URL they already have. `stop()` ends it for good and removes the store.
 */
export class NatsServerProcess {
  private child: ChildProcess | null = null;
  private stderr = '';

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    /** A configuration file passed with `-c` (authorization, for instance); null: none. */
    private readonly configFile: string | null = null,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * `config`: the text of a nats-server configuration file (say an `authorization` block), written
   * beside the store and passed with `-c`. Port, interface, JetStream and store still come from
   * the command line, which wins over the file.
   */
  static async start(opts: { config?: string } = {}): Promise<NatsServerProcess> {
    const storeDir = mkdtempSync(join(tmpdir(), 'portcullis-nats-'));
    let configFile: string | null = null;
    if (opts.config !== undefined) {
      // Beside the store, not in it: JetStream owns the store directory's content.
      configFile = `${storeDir}.conf`;
      writeFileSync(configFile, opts.config, { mode: 0o600 });
    }
    const server = new NatsServerProcess(await freePort(), storeDir, configFile);
    try {
      await server.spawn();
    } catch (err) {
      server.removeFiles();
      throw err;
    }
    return server;
  }

  /**
   * Stops the server (SIGTERM, SIGKILL after 10 s; `SIGKILL` at once to simulate a crash);
   * {@link resume} starts it again on the same port and store.
   */
  async halt(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Replaces the configuration file given to {@link start} and has the running server reload it
   * (SIGHUP, as `nats-server --signal reload` does): say, to create a user clients wait for.
   */
  async reload(config: string): Promise<void> {
    if (!this.configFile) throw new Error('reload needs a server started with a config');
    writeFileSync(this.configFile, config, { mode: 0o600 });
    this.child?.kill('SIGHUP');
    // The reload is asynchronous; a short pause keeps callers from racing the old settings.
    await new Promise((r) => setTimeout(r, 200));
  }

  /** Starts the server again after {@link halt}. */
  async resume(): Promise<void> {
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.halt();
    this.removeFiles();
  }

  private removeFiles(): void {
    rmSync(this.storeDir, { recursive: true, force: true });
    if (this.configFile) rmSync(this.configFile, { force: true });
  }

  private async spawn(): Promise<void> {
    this.stderr = '';
    const child = spawn(
      toolPath('nats-server'),
      [
        ...(this.configFile ? ['-c', this.configFile] : []),
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(this.port),
        '-sd',
        this.storeDir,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8192);
    });
    // If the test process dies without running its `after` hooks, take the server with it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    // If the server exits (say the port is taken), the wait ends with its stderr in the message.
    await waitFor(
      () =>
        new Promise<boolean>((resolve, reject) => {
          if (child.exitCode !== null)
            return reject(new Error(`nats-server exited: ${this.stderr}`));
          const s = connect(this.port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      15_000,
      `nats-server on port ${this.port}`,
    );
  }
}
