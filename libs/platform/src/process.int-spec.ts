import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const platform = join(__dirname, 'index.js');

/** Runs a tiny program using the platform lib, sends it SIGTERM once it is ready, returns how it ended. */
function runAndSignal(
  body: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['-e', `const p = require(${JSON.stringify(platform)});\n${body}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('READY')) child.kill('SIGTERM');
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('process entry helpers', () => {
  it('SIGTERM runs the stop once and exits 0', async () => {
    const r = await runAndSignal(`
      let stops = 0;
      p.stopOnSignals(async () => { stops++; console.log('STOPS=' + stops); }, new p.Logger('t'));
      setInterval(() => {}, 1000);
      console.log('READY');
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STOPS=1/);
    assert.doesNotMatch(r.stdout, /STOPS=2/);
  });

  it('a stop that overruns its deadline still ends the process, with exit 1', async () => {
    const r = await runAndSignal(`
      p.stopOnSignals(() => new Promise(() => {}), new p.Logger('t'), 300);
      setInterval(() => {}, 1000);
      console.log('READY');
    `);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /stop took too long/);
  });

  it('an invalid configuration exits 2 with the message naming the key', async () => {
    const r = await runAndSignal(`
      p.loadConfigOrExit(() => new p.EnvReader({ CP_PORT: 'x' }).port('CP_PORT', 1));
    `);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid configuration: CP_PORT/);
  });
});
