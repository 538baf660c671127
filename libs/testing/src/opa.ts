import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DECISION_PATH } from '@portcullis/contracts';
import { readBundleFile } from '@portcullis/policy-runtime';
import { toolPath } from './tools';

/** Rego sources keyed by relative file name. */
export type RegoModules = Record<string, string>;

/** The outcome of one `opa` run, as the control plane would see it: exit status and both streams. */
export interface OpaRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** What to compile with: a capabilities file (as the control plane passes), and data.json content. */
export interface RegoBuildOptions {
  capabilities?: string;
  data?: unknown;
  /** Entrypoints to build (`opa build -e` each); default the decision entrypoint alone. */
  entrypoints?: string[];
}

/**
 * Writes modules under `<dir>/src` (and `src/data.json` when `data` is given) in a fresh temp
 * dir, runs `fn(dir)`, and removes the dir whatever happens.
 */
export function withPolicyDir<T>(modules: RegoModules, data: unknown, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-policy-'));
  try {
    for (const [name, source] of Object.entries(modules)) {
      const file = join(dir, 'src', name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, source);
    }
    if (data !== undefined) writeFileSync(join(dir, 'src', 'data.json'), JSON.stringify(data));
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the pinned `opa` with `args` (60 s at most). */
export function runOpa(args: string[]): OpaRun {
  const r = spawnSync(toolPath('opa'), args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `opa build -t wasm -e portcullis/decision [--capabilities file]`, as the control plane compiles
 * uploads; returns the run and, on success, the bundle's policy.wasm.
 */
export function buildRego(
  modules: RegoModules,
  options: RegoBuildOptions = {},
): OpaRun & { wasm?: Uint8Array } {
  return withPolicyDir(modules, options.data, (dir) => {
    const out = join(dir, 'bundle.tar.gz');
    const entrypoints = options.entrypoints ?? [DECISION_PATH];
    const args = ['build', '-t', 'wasm', ...entrypoints.flatMap((e) => ['-e', e]), '-o', out];
    if (options.capabilities) args.push('--capabilities', options.capabilities);
    const run = runOpa([...args, join(dir, 'src')]);
    if (run.status !== 0) return run;
    const wasm = readBundleFile(readFileSync(out), '/policy.wasm');
    if (!wasm) throw new Error('opa build succeeded but the bundle has no /policy.wasm');
    return { ...run, wasm };
  });
}

/** Like {@link buildRego}, but returns policy.wasm and throws with OPA's message on failure. */
export function compileRego(modules: RegoModules, options: RegoBuildOptions = {}): Uint8Array {
  const run = buildRego(modules, options);
  if (!run.wasm)
    throw new Error(`opa build failed (exit ${run.status}): ${run.stderr || run.stdout}`);
  return run.wasm;
}
