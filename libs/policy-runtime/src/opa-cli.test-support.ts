// Test support (not exported from the package): drives the real `opa` binary the way the control
// plane does, so tests can compare our WASM path with OPA's own evaluator.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { toolPath } from '@portcullis/testing';
import { readBundleFile } from './bundle-archive.reader';
import { DECISION_ENTRYPOINT } from './policy.loader';

/** Rego sources keyed by relative file name. */
export type Modules = Record<string, string>;

/** The outcome of one `opa` run, as the control plane would see it: exit status and both streams. */
export interface OpaRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Writes modules (and data.json when given) into a fresh temp dir, runs `fn`, removes the dir. */
function withPolicyDir<T>(modules: Modules, data: unknown, fn: (dir: string) => T): T {
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

function runOpa(args: string[], cwd?: string): OpaRun {
  const r = spawnSync(toolPath('opa'), args, { encoding: 'utf8', cwd, timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `opa build -t wasm -e portcullis/decision [--capabilities file]`; returns the run and, on success, policy.wasm. */
export function buildWasm(
  modules: Modules,
  options: { capabilities?: string; data?: unknown } = {},
): OpaRun & { wasm?: Uint8Array } {
  return withPolicyDir(modules, options.data, (dir) => {
    const out = join(dir, 'bundle.tar.gz');
    const args = ['build', '-t', 'wasm', '-e', DECISION_ENTRYPOINT, '-o', out];
    if (options.capabilities) args.push('--capabilities', options.capabilities);
    const run = runOpa([...args, join(dir, 'src')]);
    if (run.status !== 0) return run;
    const wasm = readBundleFile(readFileSync(out), '/policy.wasm');
    if (!wasm) throw new Error('opa build succeeded but the bundle has no /policy.wasm');
    return { ...run, wasm };
  });
}

/** Like buildWasm, but throws with OPA's message on failure. */
export function compileWasm(
  modules: Modules,
  options: { capabilities?: string; data?: unknown } = {},
): Uint8Array {
  const run = buildWasm(modules, options);
  if (!run.wasm)
    throw new Error(`opa build failed (exit ${run.status}): ${run.stderr || run.stdout}`);
  return run.wasm;
}

/** Evaluates `data.portcullis.decision` with OPA's own evaluator; `undefined` when the rule is undefined. */
export function opaEval(modules: Modules, input: unknown, data?: unknown): unknown {
  return withPolicyDir(modules, data, (dir) => {
    const args = ['eval', '-f', 'json', '-d', join(dir, 'src'), 'data.portcullis.decision'];
    if (input !== undefined) {
      writeFileSync(join(dir, 'input.json'), JSON.stringify(input));
      args.push('--input', join(dir, 'input.json'));
    }
    const run = runOpa(args);
    if (run.status !== 0)
      throw new Error(`opa eval failed (exit ${run.status}): ${run.stderr || run.stdout}`);
    const out = JSON.parse(run.stdout) as { result?: { expressions: { value: unknown }[] }[] };
    return out.result?.[0]?.expressions[0]?.value;
  });
}
