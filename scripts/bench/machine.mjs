// The machine the bench runs on: what it installs (nginx, wrk), which cores each process gets,
// PostgreSQL when available, and the versions and core count written into the report.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

const log = (m) => process.stderr.write(`[bench] ${m}\n`);

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Debian packages the proxy section needs, by the command each provides. */
const PACKAGES = { nginx: 'nginx-light', wrk: 'wrk', taskset: 'util-linux' };

/**
 * Installs nginx (Debian's nginx-light) and wrk with apt-get when they are missing; idempotent.
 * Prints exactly what it runs. The Debian nginx package is only used as a binary: the bench
 * starts its own instances with their own config files and never the system service.
 */
export function ensurePackages() {
  const missing = Object.entries(PACKAGES)
    .filter(([cmd]) => !has(cmd))
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (!has('apt-get'))
    throw new Error(`missing ${missing.join(', ')} and no apt-get to install them with`);
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => {
    log(`running: ${[...sudo, ...args].join(' ')}`);
    execFileSync(sudo[0] ?? args[0], sudo.length ? args : args.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env,
    });
  };
  run(['apt-get', 'update', '-q']);
  run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing]);
}

/**
 * Core layout. The proxy under test (nginx with one worker, or the enforcer) gets core 0 alone;
 * everything else (load generator, the fixed-body upstream, nats-server, the bench itself) gets
 * the remaining cores. On a one-core machine nothing is pinned (and the report says so).
 */
export function coreLayout() {
  const n = availableParallelism();
  if (n < 2) return { cores: n, proxy: null, rest: null, pinned: false };
  return { cores: n, proxy: '0', rest: n === 2 ? '1' : `1-${n - 1}`, pinned: true };
}

/** Prefix for a command so that it runs on `cpus` (a taskset list), or nothing when unpinned. */
export function pinned(cpuList, command, args) {
  if (cpuList === null) return { command, args };
  return { command: 'taskset', args: ['-c', cpuList, command, ...args] };
}

/** Moves every thread of a running process to `cpuList` (no-op when unpinned). */
export function pinProcess(pid, cpuList) {
  if (cpuList === null) return;
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}

/** CPU seconds (user + system, all threads) a process has used so far; null once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** Busy jiffies per core from /proc/stat, to tell which core a run was bound by. */
export function coreTimes() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    out[m[1]] = { busy: total - idle, total };
  }
  return out;
}

/** Fraction busy per core between two {@link coreTimes} readings. */
export function coreBusy(before, after) {
  const out = {};
  for (const [core, a] of Object.entries(after)) {
    const b = before[core];
    if (!b) continue;
    const total = a.total - b.total;
    out[core] = total > 0 ? (a.busy - b.busy) / total : 0;
  }
  return out;
}

const firstLine = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
};

/** Versions and hardware written into the report. */
export function describeMachine(tools) {
  return {
    // cpus(), not availableParallelism(): the bench has pinned itself by now.
    cores: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    nginx: firstLine('nginx', ['-v']).replace(/^nginx version: /, ''),
    wrk: firstLine('wrk', ['--version']).split(' [')[0],
    opa: firstLine(tools.opa, ['version']).replace(/^Version: /, ''),
    nats_server: firstLine(tools.natsServer, ['--version']),
    postgres: null,
  };
}

/** The URL of the PostgreSQL the ingest section uses, starting the local cluster if it is down; null to skip. */
export async function ensurePostgres() {
  const url = process.env.PORTCULLIS_TEST_POSTGRES_URL;
  if (!url) return { url: null, why: 'PORTCULLIS_TEST_POSTGRES_URL is not set' };
  if (!(await postgresAnswers(url)) && has('pg_lsclusters') && has('pg_ctlcluster')) {
    const clusters = spawnSync('pg_lsclusters', ['-h'], { encoding: 'utf8' }).stdout ?? '';
    for (const line of clusters.split('\n')) {
      const [version, name, , status] = line.trim().split(/\s+/);
      if (version && name && status === 'down') {
        log(`running: pg_ctlcluster ${version} ${name} start`);
        spawnSync('pg_ctlcluster', [version, name, 'start'], { stdio: 'inherit' });
      }
    }
  }
  return (await postgresAnswers(url))
    ? { url, why: null }
    : { url: null, why: `no PostgreSQL answers at PORTCULLIS_TEST_POSTGRES_URL` };
}

async function postgresAnswers(url) {
  const { Client } = (await import('pg')).default;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const r = await client.query('SHOW server_version');
    postgresAnswers.version = r.rows[0]?.server_version ?? null;
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Server version seen by the last successful {@link ensurePostgres}, for the report. */
export const postgresVersion = () => postgresAnswers.version ?? null;
