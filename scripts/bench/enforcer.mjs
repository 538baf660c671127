// Enforcer child processes for the proxy and propagation sections, started from the built app
// exactly like e2e/support/stack.ts does, with an explicit core list and optional CPU profile.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinned } from './machine.mjs';

/**
 * Writes a copy of the stack's connections file with `crm` pointing at `upstreamUrl`; returns
 * its path. Copying (rather than writing our own) keeps the bench in step with the file format.
 */
export function connectionsFile(stack, upstreamUrl) {
  const file = join(stack.dataDir, 'bench-connections.json');
  const config = JSON.parse(readFileSync(stack.connectionsFile, 'utf8'));
  const crm = config.connections.find((c) => c.name === 'crm');
  if (!crm) throw new Error(`${stack.connectionsFile} has no connection named crm`);
  crm.url = upstreamUrl;
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/**
 * Starts one enforcer (the production entry, `node --enable-source-maps main.js`) on `cpuList`;
 * with `profileDir` it writes a V8 CPU profile there when it stops. Returns a handle shaped like
 * the stack's EnforcerHandle, plus the pid.
 */
export async function startEnforcer(dist, stack, { id, connections, cpuList, profileDir, env }) {
  const { testing, AppProcess } = dist;
  const [port, adminPort] = [await testing.freePort(), await testing.freePort()];
  const node = [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    '--enable-source-maps',
    dist.enforcerEntry,
  ];
  const { command, args } = pinned(cpuList, process.execPath, node);
  const app = new AppProcess({
    name: `enforcer ${id}`,
    command,
    args,
    cwd: stack.dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/',
      // info: AppProcess waits for the "listening" line; nothing is logged per call at info.
      LOG_LEVEL: 'info',
      ENFORCER_ID: id,
      ENFORCER_HOST: '127.0.0.1',
      ENFORCER_PORT: String(port),
      ENFORCER_ADMIN_PORT: String(adminPort),
      ENFORCER_BUNDLE: 'default',
      ENFORCER_CONNECTIONS_FILE: connections,
      NATS_URL: stack.nats.url,
      AUTH_ISSUER: stack.issuerUrl,
      ...env,
    },
  });
  await app.start(60_000);
  return {
    id,
    app,
    proxyUrl: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    // AppProcess keeps its ChildProcess private in TypeScript; the pid is only read here.
    pid: app.child?.pid ?? null,
  };
}

/** Sums of the enforcer's event counters from its admin /metrics. */
export async function eventCounters(handle) {
  const text = await (await fetch(`${handle.adminUrl}/metrics`)).text();
  const sum = (name) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  return {
    published: sum('portcullis_enforcer_events_published_total'),
    dropped: sum('portcullis_enforcer_events_dropped_total'),
    queue: sum('portcullis_enforcer_event_queue_depth'),
  };
}
