// `npm run bench`: what one proxied call costs, and how fast an activation is enforced.
//   1. Latency: the same GET against the sample upstream directly and through the enforcer
//      (allowed by policy, token verified, decision published), N requests each at a fixed
//      concurrency over keep-alive connections; p50/p95/p99 side by side and the difference.
//   2. Activation → enforcement: flip the active version between "readers allowed" and "reads
//      paused" K times; each time, from the activate response until the running enforcer's
//      decision changes (polled back to back); median, min, max.
// Starts its own stack (built apps as child processes, like e2e/), loopback only, bounded.
// Options: --requests=N (2000) --concurrency=C (8) --warmup=W (300) --flips=K (10) --json
//          --no-build (skip the TypeScript build; dist/ must be current)
import { createRequire } from 'node:module';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { bootstrap, exportToolEnv } from './bootstrap.mjs';
import { ROOT } from './tools.mjs';

const arg = (name, fallback, max) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    process.stderr.write(`--${name} must be an integer between 1 and ${max}\n`);
    process.exit(2);
  }
  return n;
};
const REQUESTS = arg('requests', 2000, 100_000);
const CONCURRENCY = arg('concurrency', 8, 256);
const WARMUP = arg('warmup', 300, 10_000);
const FLIPS = arg('flips', 10, 100);
const AS_JSON = process.argv.includes('--json');
const log = (m) => process.stderr.write(`[bench] ${m}\n`);

const tools = bootstrap({ compile: !process.argv.includes('--no-build') });
exportToolEnv(tools);
const require = createRequire(import.meta.url);
const { Stack } = require(join(ROOT, 'dist', 'e2e', 'support', 'stack.js'));
const { readerPolicy, readsPausedPolicy } = require(
  join(ROOT, 'dist', 'e2e', 'support', 'policies.js'),
);

/** One GET over a keep-alive agent; resolves with the status after the body is drained. */
function get(agent, url, headers) {
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

/** `total` GETs with `concurrency` in flight; per-request latency in ms. */
async function load(url, headers, total, concurrency, expectStatus) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const start = process.hrtime.bigint();
      const status = await get(agent, url, headers);
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (status !== expectStatus)
        throw new Error(`${url} answered ${status}, expected ${expectStatus}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { latencies, rps: total / seconds };
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary({ latencies, rps }) {
  const s = [...latencies].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), mean, rps };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  log('starting a stack (nats-server, dev issuer, sample upstream, control plane, enforcer) ...');
  const stack = await Stack.start({ label: 'bench', upstreamProcess: true });
  const stopOnSignal = () => void stack.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const v1 = await stack.publish(readerPolicy());
    await stack.waitForEnforcerVersion(stack.enforcer, v1);
    const v2 = await stack.publish(readsPausedPolicy(), { activate: false });
    const token = await stack.token('bench-reader', { roles: ['crm-reader'] }, { ttl: 3600 });
    const auth = { authorization: `Bearer ${token}` };
    const direct = `${stack.upstream.url}/customers/1`;
    const proxied = `${stack.enforcer.proxyUrl}/crm/customers/1`;

    log(`warm-up: ${WARMUP} requests each ...`);
    await load(direct, {}, WARMUP, CONCURRENCY, 200);
    await load(proxied, auth, WARMUP, CONCURRENCY, 200);
    log(`latency: ${REQUESTS} GETs each at concurrency ${CONCURRENCY} ...`);
    const d = summary(await load(direct, {}, REQUESTS, CONCURRENCY, 200));
    const p = summary(await load(proxied, auth, REQUESTS, CONCURRENCY, 200));

    log(`activation → enforcement: ${FLIPS} flips ...`);
    const flips = [];
    let active = v1;
    for (let i = 0; i < FLIPS; i++) {
      const target = active === v1 ? v2 : v1;
      const expect = target === v1 ? 200 : 403;
      const res = await stack.activate(target);
      if (res.status !== 200) throw new Error(`activate answered ${res.status}: ${res.text}`);
      const t0 = performance.now();
      let polls = 0;
      for (;;) {
        polls++;
        const status = await get(undefined, proxied, auth);
        if (status === expect) break;
        if (performance.now() - t0 > 15_000)
          throw new Error(`version ${target} not enforced within 15 s`);
      }
      flips.push({ ms: performance.now() - t0, polls });
      active = target;
      await stack.waitForEnforcerVersion(stack.enforcer, target);
    }
    const flipMs = flips.map((f) => f.ms);
    const result = {
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      direct: d,
      proxied: p,
      added_ms: {
        p50: p.p50 - d.p50,
        p95: p.p95 - d.p95,
        p99: p.p99 - d.p99,
        mean: p.mean - d.mean,
      },
      ratio_p50: p.p50 / d.p50,
      activation_to_enforcement_ms: {
        median: median(flipMs),
        min: Math.min(...flipMs),
        max: Math.max(...flipMs),
        runs: FLIPS,
      },
    };
    if (AS_JSON) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      const f = (n) => n.toFixed(2).padStart(9);
      process.stdout.write(
        `\nLatency of GET /customers/1, ${REQUESTS} requests at concurrency ${CONCURRENCY} (ms)\n` +
          `                 p50       p95       p99      mean      req/s\n` +
          `direct     ${f(d.p50)} ${f(d.p95)} ${f(d.p99)} ${f(d.mean)} ${d.rps.toFixed(0).padStart(10)}\n` +
          `enforcer   ${f(p.p50)} ${f(p.p95)} ${f(p.p99)} ${f(p.mean)} ${p.rps.toFixed(0).padStart(10)}\n` +
          `added      ${f(result.added_ms.p50)} ${f(result.added_ms.p95)} ${f(result.added_ms.p99)} ${f(result.added_ms.mean)}\n` +
          `ratio p50  ${result.ratio_p50.toFixed(2)}x\n\n` +
          `Activation → enforcement over ${FLIPS} flips (ms, from the activate response to the first changed decision)\n` +
          `median ${median(flipMs).toFixed(1)}   min ${Math.min(...flipMs).toFixed(1)}   max ${Math.max(...flipMs).toFixed(1)}\n`,
      );
    }
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(
      `[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
