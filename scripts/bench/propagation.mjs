// Section 3, propagation: N running enforcers, and K activations alternating between a version
// that allows the call (200) and one that denies it (403). For each activation, the time from
// the activate response until EVERY enforcer answers with the new version's decision, found by
// polling each enforcer back to back with the same call.
import { Agent, request } from 'node:http';
import { startEnforcer } from './enforcer.mjs';
import { round, summarize } from './stats.mjs';

function status(agent, url, headers) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

/** Polls one enforcer until it answers `expect`; resolves with ms since `t0`. */
async function until(agent, url, headers, expect, t0, timeoutMs) {
  for (;;) {
    const s = await status(agent, url, headers);
    const ms = performance.now() - t0;
    if (s === expect) return ms;
    if (ms > timeoutMs) throw new Error(`${url} still answers ${s} after ${timeoutMs} ms`);
  }
}

export async function benchPropagation({ dist, sizes, log }) {
  const { Stack, policies } = dist;
  log(`propagation: starting a stack and ${sizes.enforcers} enforcers ...`);
  const stack = await Stack.start({ label: 'bench-prop', enforcer: false });
  const enforcers = [];
  const agents = [];
  try {
    const connections = stack.connectionsFile;
    // Started a few at a time: ten node processes booting at once on two cores time out.
    for (let i = 0; i < sizes.enforcers; i += 4) {
      const batch = Array.from({ length: Math.min(4, sizes.enforcers - i) }, (_, j) =>
        startEnforcer(dist, stack, {
          id: `bench-prop-${i + j + 1}`,
          connections,
          cpuList: null,
        }),
      );
      enforcers.push(...(await Promise.all(batch)));
    }
    const v1 = await stack.publish(policies.readerPolicy());
    const v2 = await stack.publish(policies.readsPausedPolicy(), { activate: false });
    await Promise.all(enforcers.map((e) => stack.waitForEnforcerVersion(e, v1, 60_000)));
    const token = await stack.token('bench-reader', { roles: ['crm-reader'] }, { ttl: 3600 });
    const auth = { authorization: `Bearer ${token}` };
    for (const e of enforcers) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      // Warm every connection and token cache so the first poll measures the decision only.
      if ((await status(agent, `${e.proxyUrl}/crm/customers/1`, auth)) !== 200)
        throw new Error(`enforcer ${e.id} does not allow the reader before the first flip`);
    }

    log(`propagation: ${sizes.flips} activations ...`);
    const all = [];
    const each = [];
    let active = v1;
    // An activation that does not reach every enforcer ends the section: it is reported with
    // what was measured before it, and counts as a missed target.
    let failure = null;
    for (let i = 0; i < sizes.flips && failure === null; i++) {
      const target = active === v1 ? v2 : v1;
      const expect = target === v1 ? 200 : 403;
      const res = await stack.activate(target);
      if (res.status !== 200) throw new Error(`activate answered ${res.status}: ${res.text}`);
      const t0 = performance.now();
      const times = await Promise.all(
        enforcers.map((e, j) =>
          until(agents[j], `${e.proxyUrl}/crm/customers/1`, auth, expect, t0, 15_000).catch(
            async (err) => {
              // Say which enforcer missed which activation, with what it reports and logged.
              const status = await stack.enforcerStatus(e.id).catch(() => null);
              return new Error(
                `activation ${i + 1} of ${sizes.flips} (version ${target}): enforcer ${e.id}: ${err.message}; ` +
                  `its status: ${JSON.stringify(status)}; its last output:\n` +
                  e.app.output().slice(-4).join('\n'),
              );
            },
          ),
        ),
      );
      if (times.some((t) => t instanceof Error)) {
        failure = times.find((t) => t instanceof Error).message;
        log(`propagation: ${failure}`);
        break;
      }
      all.push(Math.max(...times));
      each.push(...times);
      active = target;
      // Settle: every enforcer has also reported the version before the next flip.
      await Promise.all(enforcers.map((e) => stack.waitForEnforcerVersion(e, target, 15_000)));
    }
    const s = summarize(all);
    const per = summarize(each);
    return {
      enforcers: enforcers.length,
      activations: all.length,
      activations_planned: sizes.flips,
      failure,
      p50_ms: round(s.p50, 1),
      p99_ms: round(s.p99, 1),
      max_ms: round(s.max, 1),
      per_enforcer_p50_ms: round(per.p50, 1),
      per_enforcer_p99_ms: round(per.p99, 1),
      samples_ms: all.map((x) => round(x, 1)),
    };
  } finally {
    for (const a of agents) a.destroy();
    await Promise.all(enforcers.map((e) => e.app.stop().catch(() => undefined)));
    await stack.stop();
  }
}
