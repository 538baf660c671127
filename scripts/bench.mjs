// `npm run bench`: what Portcullis costs, side by side with the alternatives, in one run.
//   1. decision     enforcer's in-process WASM evaluator vs the same rego/ in an OPA sidecar
//   2. proxy        direct vs nginx reverse proxy vs enforcer (events on) vs enforcer + masking
//   3. propagation  activate → every one of N enforcers enforcing the new version
//   4. ingest       decisions/s from JetStream into the control plane's SQLite / PostgreSQL
// Method and layout: docs/performance.md. Modules: scripts/bench/.
//
// Options:
//   --quick            short runs (about 3 minutes); writes bench/results/quick.{json,md}
//   (default: full)    long runs; writes bench/results/latest.{json,md}
//   --only=a,b         run only these sections (decision, proxy, propagation, ingest)
//   --profile          CPU-profile the enforcer of the proxy section; the summary goes to
//                      bench/results/<name>.profile.txt, the .cpuprofile files to a temp dir
//   --out=NAME         results file name (default latest, quick, or partial with --only)
//   --no-build         skip the TypeScript build (dist/ must be current)
// Setup it performs (idempotent): apt-get install nginx-light wrk when missing (Debian), the
// pinned opa and nats-server via scripts/bootstrap.mjs, `pg_ctlcluster … start` when
// PORTCULLIS_TEST_POSTGRES_URL is set and the local cluster is down.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, exportToolEnv } from './bootstrap.mjs';
import { ROOT } from './tools.mjs';
import { benchDecision } from './bench/decision.mjs';
import { load } from './bench/dist.mjs';
import { benchIngest } from './bench/ingest.mjs';
import {
  coreLayout,
  describeMachine,
  ensurePackages,
  ensurePostgres,
  pinProcess,
  postgresVersion,
} from './bench/machine.mjs';
import { summarizeProfiles } from './bench/profile.mjs';
import { benchPropagation } from './bench/propagation.mjs';
import { benchProxy } from './bench/proxy.mjs';
import { RESULTS_DIR, targets, writeResults } from './bench/report.mjs';

const SECTIONS = ['decision', 'proxy', 'propagation', 'ingest'];
const argValue = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const QUICK = process.argv.includes('--quick');
const PROFILE = process.argv.includes('--profile');
const only = argValue('only')?.split(',') ?? SECTIONS;
for (const s of only) {
  if (!SECTIONS.includes(s)) {
    process.stderr.write(`--only: unknown section "${s}" (one of ${SECTIONS.join(', ')})\n`);
    process.exit(2);
  }
}
const NAME =
  argValue('out') ?? (QUICK ? 'quick' : only.length < SECTIONS.length ? 'partial' : 'latest');
if (!/^[a-z0-9-]+$/.test(NAME)) {
  process.stderr.write('--out must be a plain name like "latest"\n');
  process.exit(2);
}

const SIZES = QUICK
  ? {
      decision: { enforcer: 50_000, sidecar: 5_000, warmup: 2_000 },
      proxy: { seconds: 12, latencySeconds: 6, warmupSeconds: 2, connections: 32 },
      propagation: { enforcers: 10, flips: 20 },
      ingest: { events: 20_000 },
    }
  : {
      decision: { enforcer: 200_000, sidecar: 20_000, warmup: 5_000 },
      proxy: { seconds: 30, latencySeconds: 15, warmupSeconds: 5, connections: 32 },
      propagation: { enforcers: 10, flips: 50 },
      ingest: { events: 100_000 },
    };

/** Which code was measured: the commit and whether the tree had local changes. */
function source() {
  if (process.env.PORTCULLIS_BENCH_SOURCE)
    return { described: process.env.PORTCULLIS_BENCH_SOURCE };
  const git = (args) => spawnSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return { described: 'not a git checkout' };
  const changed = git(['status', '--porcelain']).stdout.split('\n').filter(Boolean).length;
  return { commit: head.stdout.trim(), changed_files: changed };
}

const log = (m) => process.stderr.write(`[bench] ${m}\n`);

async function main() {
  const began = performance.now();
  ensurePackages();
  const tools = bootstrap({ compile: !process.argv.includes('--no-build') });
  exportToolEnv(tools);
  const dist = load();
  const layout = coreLayout();
  const all = `0-${cpus().length - 1}`;
  if (!layout.pinned)
    log('one core only: nothing is pinned, proxy numbers include the load generator');
  // Everything the bench starts inherits its affinity; only the proxy under test gets core 0.
  pinProcess(process.pid, layout.rest);
  const postgres = only.includes('ingest') ? await ensurePostgres() : { url: null, why: 'not run' };
  const machine = { ...describeMachine(tools), postgres: postgresVersion() };
  const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'portcullis-bench-prof-')) : undefined;

  const result = {
    mode: QUICK ? 'quick' : 'full',
    started_at: new Date().toISOString(),
    finished_at: null,
    duration_s: null,
    machine,
    source: source(),
    layout: layout.pinned
      ? `proxy under test (nginx worker or enforcer) on core ${layout.proxy}; wrk, the fixed-body nginx upstream, nats-server, control plane and bench on core(s) ${layout.rest}; propagation and ingest use all cores`
      : 'not pinned (one core)',
    sizes: SIZES,
    decision: null,
    proxy: null,
    propagation: null,
    ingest: null,
    targets: null,
    errors: [],
  };
  const run = async (name, fn) => {
    if (!only.includes(name)) return;
    const t0 = performance.now();
    try {
      result[name] = await fn();
      log(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${name} failed: ${message}`);
      result.errors.push(`${name}: ${message.split('\n')[0]}`);
    }
  };

  await run('decision', () => benchDecision({ dist, tools, layout, sizes: SIZES.decision, log }));
  await run('proxy', () => benchProxy({ dist, layout, sizes: SIZES.proxy, log, profileDir }));
  pinProcess(process.pid, layout.pinned ? all : null);
  await run('propagation', () => benchPropagation({ dist, sizes: SIZES.propagation, log }));
  await run('ingest', () => benchIngest({ dist, sizes: SIZES.ingest, postgres, log }));

  result.finished_at = new Date().toISOString();
  result.duration_s = Math.round((performance.now() - began) / 1000);
  result.targets = targets(result);
  const out = await writeResults(NAME, result);
  process.stdout.write(`\n${out.markdown}\n`);
  if (profileDir) {
    const text = summarizeProfiles(profileDir).join('\n');
    const file = join(RESULTS_DIR, `${NAME}.profile.txt`);
    writeFileSync(file, text + '\n');
    process.stdout.write(`\nEnforcer CPU profile (${profileDir}):\n${text}\n`);
    log(`profile summary written to ${file}`);
  }
  log(`results written to ${out.json} and ${out.md} in ${result.duration_s} s`);
  if (profileDir && process.env.PORTCULLIS_BENCH_KEEP_PROFILES !== '1')
    rmSync(profileDir, { recursive: true, force: true });
  return result.errors.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      `[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
