import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort, waitFor } from './ports';
import { toolPath } from './tools';

/** A real nats-server with JetStream on a loopback port and a throwaway store directory. */
export class NatsServerProcess {
  private constructor(
    readonly url: string,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly storeDir: string,
  ) {}

  static async start(): Promise<NatsServerProcess> {
    const port = await freePort();
    const storeDir = mkdtempSync(join(tmpdir(), 'portcullis-nats-'));
    const child = spawn(
      toolPath('nats-server'),
      ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (child.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      10_000,
      'nats-server',
    );
    // If the test process dies without running its `after` hooks, take the server with it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    return new NatsServerProcess(`nats://127.0.0.1:${port}`, port, child, storeDir);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
