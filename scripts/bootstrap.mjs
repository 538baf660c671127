// Makes a fresh clone runnable: npm dependencies, pinned tools, compiled TypeScript.
// Idempotent and quick when everything is already in place; `npm start` and `npm test` call it.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, ensureTool } from './tools.mjs';

const log = (m) => process.stderr.write(`[bootstrap] ${m}\n`);

function ensureNodeModules() {
  const marker = join(ROOT, 'node_modules', '.package-lock.json');
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  log('installing npm dependencies (npm ci) ...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
}

function build() {
  log('compiling TypeScript ...');
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}

/** Returns the resolved tool paths, after making sure everything exists. */
export function bootstrap({ compile = true } = {}) {
  ensureNodeModules();
  const opa = ensureTool('opa', log);
  const natsServer = ensureTool('nats-server', log);
  if (compile) build();
  return { opa, natsServer };
}

/** Points OPA_BIN and NATS_SERVER_BIN (unless set) at the bootstrapped tools, for child processes and libs/testing. */
export function exportToolEnv(tools) {
  process.env.OPA_BIN ??= tools.opa;
  process.env.NATS_SERVER_BIN ??= tools.natsServer;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tools = bootstrap();
  log(`ready: opa=${tools.opa} nats-server=${tools.natsServer}`);
}
