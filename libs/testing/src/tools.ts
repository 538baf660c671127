import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Repository root, from dist/libs/testing/src. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

/** A pinned tool installed by scripts/bootstrap.mjs, or the override in its env var. */
export function toolPath(name: 'opa' | 'nats-server'): string {
  const override = process.env[name === 'opa' ? 'OPA_BIN' : 'NATS_SERVER_BIN'];
  const path = override ?? resolve(REPO_ROOT, '.tools', 'bin', name);
  if (!existsSync(path))
    throw new Error(`${name} not found at ${path}: run npm test (it bootstraps tools)`);
  return path;
}
