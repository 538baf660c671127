// Pinned external tools. Both are Go modules installed with `go install` into .tools/bin,
// because neither has a current build on npm or Debian. Bump a version here and nowhere else.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_BIN = join(ROOT, '.tools', 'bin');

export const TOOLS = {
  opa: {
    env: 'OPA_BIN',
    module: 'github.com/open-policy-agent/opa',
    version: 'v1.22.3',
    versionArgs: ['version'],
    versionPattern: /^Version: (\S+)/m,
  },
  'nats-server': {
    env: 'NATS_SERVER_BIN',
    module: 'github.com/nats-io/nats-server/v2',
    version: 'v2.15.2',
    versionArgs: ['--version'],
    versionPattern: /nats-server: (\S+)/,
  },
};

function installedVersion(bin, tool) {
  const r = spawnSync(bin, tool.versionArgs, { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const m = tool.versionPattern.exec(r.stdout);
  return m ? (m[1].startsWith('v') ? m[1] : `v${m[1]}`) : null;
}

/** Path of a tool: the override from its env var, else the pinned build in .tools/bin (installed on demand). */
export function ensureTool(name, log = (m) => process.stderr.write(m + '\n')) {
  const tool = TOOLS[name];
  const override = process.env[tool.env];
  if (override) {
    if (!existsSync(override)) throw new Error(`${tool.env}=${override} does not exist`);
    return override;
  }
  const bin = join(TOOLS_BIN, name);
  if (existsSync(bin) && installedVersion(bin, tool) === tool.version) return bin;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    throw new Error(
      `Go is needed once to install ${name} ${tool.version}: install Go 1.24 or newer (https://go.dev/doc/install) or set ${tool.env} to an existing ${name} binary.`,
    );
  }
  mkdirSync(TOOLS_BIN, { recursive: true });
  log(`installing ${name} ${tool.version} with go install (first run only) ...`);
  execFileSync('go', ['install', `${tool.module}@${tool.version}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: TOOLS_BIN, CGO_ENABLED: '0' },
  });
  const got = installedVersion(bin, tool);
  if (got !== tool.version)
    throw new Error(`${name}: expected ${tool.version} after install, found ${got}`);
  return bin;
}
