// `npm test`: every test, on a fresh clone, with no other step.
//   1. bootstrap (npm ci, pinned opa and nats-server, compile)
//   2. lint (ESLint with type information, module boundaries), Prettier and `opa fmt`
//   3. the Rego library's own tests with the real `opa test`
//   4. unit (*.spec), integration (*.int-spec) and e2e (e2e/*.e2e-spec) with node's test runner.
// PostgreSQL variants run when PORTCULLIS_TEST_POSTGRES_URL is set (.ci/run sets it).
// Flags: --only=unit|integration|e2e, --no-lint, and any file filter substring.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bootstrap, exportToolEnv } from './bootstrap.mjs';
import { ROOT } from './tools.mjs';

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const lint = !args.includes('--no-lint') && !only;
const filters = args.filter((a) => !a.startsWith('--'));

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`\n${[cmd, ...argv].join(' ')} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const tools = bootstrap();
exportToolEnv(tools);

if (lint) {
  process.stderr.write('[test] eslint ...\n');
  run(process.execPath, [
    join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js'),
    '--max-warnings=0',
    '.',
  ]);
  process.stderr.write('[test] prettier --check, opa fmt ...\n');
  run(process.execPath, [
    join(ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
    '--check',
    '--log-level=warn',
    '.',
  ]);
  run(tools.opa, ['fmt', '--fail', '--list', 'rego']);
}
if (!only) {
  process.stderr.write('[test] opa check + opa test rego/ ...\n');
  // The same capabilities the control plane compiles uploads with: what passes here, uploads.
  const caps = ['--capabilities', join(ROOT, 'libs', 'policy-runtime', 'capabilities.json')];
  run(tools.opa, ['check', '--strict', ...caps, 'rego']);
  run(tools.opa, ['test', ...caps, 'rego', '-v']);
}

const tiers = {
  unit: (f) => f.endsWith('.spec.js') && !f.endsWith('.int-spec.js') && !f.endsWith('.e2e-spec.js'),
  integration: (f) => f.endsWith('.int-spec.js'),
  e2e: (f) => f.endsWith('.e2e-spec.js'),
};
const dist = join(ROOT, 'dist');
const files = walk(dist)
  // tsc never removes the output of a deleted or renamed source; its stale spec must not run.
  .filter((f) => existsSync(join(ROOT, relative(dist, f)).replace(/\.js$/, '.ts')))
  .filter((f) => (only ? tiers[only](f) : Object.values(tiers).some((t) => t(f))))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort((a, b) => tierRank(a) - tierRank(b) || a.localeCompare(b));

function tierRank(f) {
  return tiers.unit(f) ? 0 : tiers.integration(f) ? 1 : 2;
}

if (files.length === 0) {
  process.stderr.write('[test] no test files matched\n');
  process.exit(1);
}
process.stderr.write(`[test] node --test: ${files.length} files\n`);
process.stderr.write(
  process.env.PORTCULLIS_TEST_POSTGRES_URL
    ? '[test] PostgreSQL variants: on\n'
    : '[test] PostgreSQL variants: skipped (set PORTCULLIS_TEST_POSTGRES_URL; .ci/run does)\n',
);
run(process.execPath, [
  '--enable-source-maps',
  '--test',
  '--test-concurrency=2',
  '--test-reporter=spec',
  ...files.map((f) => relative(ROOT, f)),
]);
