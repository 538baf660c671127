// Section 2, proxy cost: the same small JSON response fetched
//   (a) directly from a fixed-body nginx upstream,
//   (b) through nginx as a plain reverse proxy (1 worker),
//   (c) through the enforcer (allow policy, JWT verified, decision events published to JetStream),
//   (d) the same with the policy's `mask` obligation on a response carrying PII.
// The proxy under test owns core 0; wrk, the upstream, nats-server and the bench share the rest.
// A bare node:http proxy runs too, as a reference for what the runtime itself costs.
// Each target gets a saturating run (throughput) and a one-connection run (latency).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventCounters, connectionsFile, startEnforcer } from './enforcer.mjs';
import { pinned } from './machine.mjs';
import { Nginx, PII_BODY } from './nginx.mjs';
import { round } from './stats.mjs';
import { wrk } from './wrk.mjs';

/** Allows crm-reader to GET (the same rule as the e2e reader policy), no obligations. */
const ALLOW_POLICY = `package portcullis

import rego.v1

decision := {"allow": true, "reasons": ["crm-reader may read"]} if _allowed

else := {"allow": false, "reasons": ["no rule allows this call"]}

_allowed if {
	input.request.method in {"GET", "HEAD"}
	"crm-reader" in object.get(input, ["identity", "claims", "roles"], [])
}
`;

/** The same rule, and every allowed response masked for card numbers and e-mail addresses. */
const MASK_POLICY = ALLOW_POLICY.replace(
  '{"allow": true, "reasons": ["crm-reader may read"]}',
  '{"allow": true, "reasons": ["crm-reader may read"], "mask": {"detectors": ["credit_card", "email"], "strategy": "redact"}}',
);

const policyTest = `package portcullis_test

import rego.v1

import data.portcullis

test_reader_may_read if {
	portcullis.decision.allow with input as {"identity": {"claims": {"roles": ["crm-reader"]}}, "request": {"method": "GET"}}
}
`;

const bundle = (policy) => ({ 'bench/policy.rego': policy, 'bench/policy_test.rego': policyTest });

/**
 * Whether the enforcer applies the `mask` obligation: 'supported' when the PII comes back
 * masked, 'unsupported' when the enforcer refuses the obligation (500 malformed_decision),
 * 'not_masked' when it forwards the body unchanged.
 */
async function maskSupport(url, token) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status === 500 && text.includes('malformed_decision')) return 'unsupported';
  if (res.status !== 200) throw new Error(`masked call answered ${res.status}: ${text}`);
  const pii = JSON.parse(PII_BODY);
  return text.includes(pii.email) || text.includes(pii.card) ? 'not_masked' : 'supported';
}

export async function benchProxy({ dist, layout, sizes, log, profileDir }) {
  const { Stack } = dist;
  log('proxy: starting nats-server, dev issuer and control plane ...');
  const stack = await Stack.start({ label: 'bench-proxy', enforcer: false });
  const nginxDir = join(stack.dataDir, 'nginx');
  mkdirSync(nginxDir, { recursive: true });
  const started = [];
  try {
    const { testing } = dist;
    const upstream = await Nginx.upstream(
      join(nginxDir, 'upstream'),
      await testing.freePort(),
      layout.rest,
    );
    started.push(upstream);
    const nginx = await Nginx.proxy(
      join(nginxDir, 'proxy'),
      await testing.freePort(),
      upstream.port,
      layout.proxy,
    );
    started.push(nginx);
    const barePort = await testing.freePort();
    const bareCmd = pinned(layout.proxy, process.execPath, [
      join(dirname(fileURLToPath(import.meta.url)), 'bare-proxy.mjs'),
      String(barePort),
      String(upstream.port),
    ]);
    const bare = new dist.AppProcess({
      name: 'bare node proxy',
      ...bareCmd,
      env: { PATH: process.env.PATH ?? '' },
      cwd: stack.dataDir,
    });
    await bare.start();
    started.push(bare);
    const enforcer = await startEnforcer(dist, stack, {
      id: 'bench-proxy',
      connections: connectionsFile(stack, upstream.url),
      cpuList: layout.proxy,
      profileDir,
      env: { ENFORCER_EVENT_QUEUE_MAX: '100000' },
    });
    started.push({ stop: () => enforcer.app.stop(30_000) });
    const allowVersion = await stack.publish(bundle(ALLOW_POLICY));
    const maskVersion = await stack.publish(bundle(MASK_POLICY), { activate: false });
    await stack.waitForEnforcerVersion(enforcer, allowVersion);
    const token = await stack.token('bench-reader', { roles: ['crm-reader'] }, { ttl: 3600 });
    const auth = { authorization: `Bearer ${token}` };
    // The control plane's ingestion would compete with wrk for the load cores; events wait in
    // the stream meanwhile (JetStream still stores and acknowledges every publish).
    await stack.haltControlPlane();

    const targets = [
      { key: 'direct', url: `${upstream.url}/customers/1`, pids: [upstream.workerPid()] },
      { key: 'nginx', url: `${nginx.url}/crm/customers/1`, pids: [nginx.workerPid()] },
      // AppProcess keeps its ChildProcess private in TypeScript; the pid is only read here.
      {
        key: 'node_bare',
        url: `http://127.0.0.1:${barePort}/crm/customers/1`,
        pids: [bare.child.pid],
      },
      {
        key: 'enforcer',
        url: `${enforcer.proxyUrl}/crm/customers/1`,
        headers: auth,
        pids: [enforcer.pid],
      },
    ];
    const runs = {};
    const measure = async (t) => {
      const common = { url: t.url, headers: t.headers, cpuList: layout.rest, watchPids: t.pids };
      log(
        `proxy: ${t.key}: warm-up, ${sizes.seconds} s at ${sizes.connections} connections, ${sizes.latencySeconds} s at 1 ...`,
      );
      await wrk({ ...common, seconds: sizes.warmupSeconds, connections: sizes.connections });
      const throughput = await wrk({
        ...common,
        seconds: sizes.seconds,
        connections: sizes.connections,
      });
      const latency = await wrk({ ...common, seconds: sizes.latencySeconds, connections: 1 });
      for (const r of [throughput, latency]) {
        if (r.non_2xx > 0 || r.socket_errors > 0)
          throw new Error(
            `${t.key}: ${r.non_2xx} non-2xx responses, ${r.socket_errors} socket errors`,
          );
      }
      runs[t.key] = { throughput, latency };
    };
    for (const t of targets) await measure(t);
    const events = await eventCounters(enforcer);

    log('proxy: activating the masking policy ...');
    await stack.resumeControlPlane();
    const act = await stack.activate(maskVersion);
    if (act.status !== 200) throw new Error(`activate answered ${act.status}: ${act.text}`);
    await stack.waitForEnforcerVersion(enforcer, maskVersion);
    const maskUrl = `${enforcer.proxyUrl}/crm/customers/2`;
    const masking = await maskSupport(maskUrl, token);
    if (masking === 'supported') {
      await stack.haltControlPlane();
      await measure({ key: 'enforcer_mask', url: maskUrl, headers: auth, pids: [enforcer.pid] });
    } else {
      log(`proxy: masking ${masking}; (d) skipped`);
    }
    const eventsAfter = await eventCounters(enforcer);
    return report(runs, masking, { before: events, after: eventsAfter });
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    await stack.stop();
  }
}

/** A proxy process this busy (fraction of its core) is what limited the run, not the load side. */
const SATURATED = 0.9;

const capacity = (run) => round(run.rps / run.proxy_cpu, 0);

function report(runs, masking, events) {
  const t = (k) => runs[k]?.throughput;
  const l = (k) => runs[k]?.latency;
  const added = (k, p) => (l(k) ? l(k)[p] - l('direct')[p] : null);
  const out = {
    direct_rps: round(t('direct').rps, 0),
    nginx_rps: round(t('nginx').rps, 0),
    node_bare_rps: round(t('node_bare').rps, 0),
    enforcer_rps: round(t('enforcer').rps, 0),
    enforcer_mask_rps: t('enforcer_mask') ? round(t('enforcer_mask').rps, 0) : null,
    direct_p50_ms: round(l('direct').p50_ms),
    direct_p99_ms: round(l('direct').p99_ms),
    nginx_p50_ms: round(l('nginx').p50_ms),
    nginx_p99_ms: round(l('nginx').p99_ms),
    node_bare_p50_ms: round(l('node_bare').p50_ms),
    node_bare_p99_ms: round(l('node_bare').p99_ms),
    enforcer_p50_ms: round(l('enforcer').p50_ms),
    enforcer_p99_ms: round(l('enforcer').p99_ms),
    enforcer_mask_p50_ms: l('enforcer_mask') ? round(l('enforcer_mask').p50_ms) : null,
    enforcer_mask_p99_ms: l('enforcer_mask') ? round(l('enforcer_mask').p99_ms) : null,
    nginx_added_p50_ms: round(added('nginx', 'p50_ms')),
    enforcer_added_p50_ms: round(added('enforcer', 'p50_ms')),
    nginx_added_p99_ms: round(added('nginx', 'p99_ms')),
    enforcer_added_p99_ms: round(added('enforcer', 'p99_ms')),
    ratio_throughput_enforcer_nginx: round(t('enforcer').rps / t('nginx').rps),
    // Requests per CPU-second of the proxy's own process: its capacity on one core even when the
    // load side (wrk and the upstream share the other core) could not saturate it.
    nginx_rps_per_core: capacity(t('nginx')),
    node_bare_rps_per_core: capacity(t('node_bare')),
    enforcer_rps_per_core: capacity(t('enforcer')),
    enforcer_mask_rps_per_core: t('enforcer_mask') ? capacity(t('enforcer_mask')) : null,
    ratio_capacity_enforcer_nginx: round(capacity(t('enforcer')) / capacity(t('nginx'))),
    saturated: Object.fromEntries(
      Object.entries(runs)
        .filter(([k]) => k !== 'direct')
        .map(([k, r]) => [k, r.throughput.proxy_cpu >= SATURATED]),
    ),
    ratio_throughput_enforcer_node_bare: round(t('enforcer').rps / t('node_bare').rps),
    ratio_throughput_node_bare_nginx: round(t('node_bare').rps / t('nginx').rps),
    ratio_added_latency_p50_enforcer_nginx: round(
      added('enforcer', 'p50_ms') / added('nginx', 'p50_ms'),
      2,
    ),
    ratio_added_latency_p99_enforcer_nginx: round(
      added('enforcer', 'p99_ms') / added('nginx', 'p99_ms'),
      2,
    ),
    masking,
    enforcer_events: {
      published: events.after.published,
      dropped: events.after.dropped,
      queued_at_end: events.after.queue,
    },
    runs,
  };
  return out;
}
