// Section 1, decision cost: the enforcer's in-process evaluator against OPA as a sidecar.
//   enforcer: libs/policy-runtime's loadPolicy on the policy.wasm the pinned opa compiles from
//             rego/ (as the control plane does), timed around evaluate() + checkDecisionDocument:
//             input serialization, WASM evaluation, result decoding.
//   sidecar:  the same rego/ served by `opa run --server`, POST /v1/data/portcullis/decision over
//             one keep-alive connection, timed from serializing the request to the parsed answer.
// Both run sequentially on the same inputs; the answers are compared so both decide the same.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { ROOT } from '../tools.mjs';
import { pinProcess, pinned } from './machine.mjs';
import { nowNs, round, summarize } from './stats.mjs';

const REGO_DIR = join(ROOT, 'rego');

const CALLERS = [
  { sub: 'svc-billing', roles: ['crm-reader'], method: 'GET', path: '/customers/42' },
  { sub: 'svc-billing', roles: ['crm-reader'], method: 'GET', path: '/customers', q: true },
  { sub: 'svc-billing', roles: ['crm-reader'], method: 'DELETE', path: '/customers/42' },
  { sub: 'svc-crm-admin', roles: ['crm-admin'], method: 'DELETE', path: '/customers/42' },
  { sub: 'job-nightly-export', roles: [], method: 'GET', path: '/customers' },
  { sub: 'svc-support', roles: 'crm-reader support', method: 'POST', path: '/echo', body: true },
];

/**
 * Inputs shaped as the enforcer's pipeline builds them (docs/policy-authors.md): verified
 * identity with the issuer's registered claims, connection `crm`, canonical request with
 * lower-cased headers (credentials removed), and context with a fresh request id per call.
 */
function makeInputs(count) {
  const issuer = 'http://127.0.0.1:8900';
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const c = CALLERS[i % CALLERS.length];
    const t = now + i;
    return {
      identity: {
        subject: c.sub,
        issuer,
        audience: ['portcullis-enforcer'],
        claims: {
          iss: issuer,
          sub: c.sub,
          aud: 'portcullis-enforcer',
          iat: Math.floor(now / 1000) - 30,
          exp: Math.floor(now / 1000) + 270,
          jti: `bench-${i}`,
          roles: c.roles,
          team: 'billing',
        },
      },
      connection: { name: 'crm', type: 'http', labels: { env: 'bench', tier: 'internal' } },
      request: {
        method: c.method,
        path: c.path,
        query: c.q ? { limit: ['50'], country: ['DE'] } : {},
        headers: {
          accept: ['application/json'],
          'user-agent': ['billing-fn/1.4 node-fetch'],
          'x-request-id': [`req-${i}`],
          ...(c.body ? { 'content-type': ['application/json'] } : {}),
        },
        body: c.body ? { message: 'ping', ticket: 4711, tags: ['a', 'b'] } : null,
      },
      context: {
        time: new Date(t).toISOString(),
        time_ns: t * 1_000_000,
        enforcer_id: 'bench-1',
        source_ip: '10.0.3.17',
        request_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      },
    };
  });
}

async function startOpa(opaBin, port, cpuList) {
  const { command, args } = pinned(cpuList, opaBin, [
    'run',
    '--server',
    '--addr',
    `127.0.0.1:${port}`,
    '--log-level',
    'error',
    '--disable-telemetry',
    REGO_DIR,
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`opa run exited ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health?bundles`);
      if (res.status === 200) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`opa run --server did not become healthy: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function opaQuery(agent, port, input) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ input });
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/data/portcullis/decision',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.once('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`opa answered ${res.statusCode}`));
            return;
          }
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')).result);
        });
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/**
 * Runs the section; `sizes` = {enforcer, sidecar, warmup} evaluation counts. Pins the bench
 * process to the proxy core for the in-process loop and OPA to another core.
 */
export async function benchDecision({ dist, tools, layout, sizes, log }) {
  const { testing, runtime, contracts, policies } = dist;
  const modules = policies.examplePolicy();
  log(
    `decision: compiling rego/ (${Object.keys(modules).length} files) with opa build -t wasm ...`,
  );
  const wasm = testing.compileRego(modules, { capabilities: runtime.CAPABILITIES_FILE });
  const policy = await runtime.loadPolicy(wasm, {});
  const inputs = makeInputs(Math.max(sizes.enforcer, sizes.sidecar, sizes.warmup));

  const obligations = new Set(contracts.DECISION_OBLIGATIONS);
  pinProcess(process.pid, layout.proxy);
  const evaluate = (input) => {
    const doc = policy.evaluate(input, { nowNs: BigInt(input.context.time_ns) });
    // Obligations are the pipeline's business after this check; accept every known one, as an
    // enforcer that implements them does.
    const check = contracts.checkDecisionDocument(doc, obligations);
    if (!check.ok) throw new Error(`rego/ returned a malformed decision: ${check.message}`);
    return check.document;
  };
  for (let i = 0; i < sizes.warmup; i++) evaluate(inputs[i]);
  log(`decision: ${sizes.enforcer} in-process evaluations ...`);
  const inProcess = new Float64Array(sizes.enforcer);
  for (let i = 0; i < sizes.enforcer; i++) {
    const t0 = nowNs();
    evaluate(inputs[i]);
    inProcess[i] = (nowNs() - t0) / 1000;
  }

  // The sidecar twice: on a core of its own (its best case, the headline number), and sharing the
  // caller's core, as it would on a one-core budget.
  const sidecars = {};
  let mismatches = 0;
  try {
    for (const [key, cpuList] of [
      ['own_core', layout.rest],
      ['same_core', layout.proxy],
    ]) {
      const port = await testing.freePort();
      const opa = await startOpa(tools.opa, port, cpuList);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const samples = new Float64Array(sizes.sidecar);
      try {
        for (let i = 0; i < sizes.warmup; i++) await opaQuery(agent, port, inputs[i]);
        log(`decision: ${sizes.sidecar} sidecar round trips (${key.replace('_', ' ')}) ...`);
        for (let i = 0; i < sizes.sidecar; i++) {
          const t0 = nowNs();
          const answer = await opaQuery(agent, port, inputs[i]);
          samples[i] = (nowNs() - t0) / 1000;
          if (i < CALLERS.length * 4 && answer?.allow !== evaluate(inputs[i]).allow) mismatches++;
        }
      } finally {
        agent.destroy();
        opa.kill('SIGTERM');
      }
      sidecars[key] = summarize(samples);
    }
  } finally {
    pinProcess(process.pid, layout.rest);
  }
  if (mismatches > 0) throw new Error(`opa and the WASM path disagreed on ${mismatches} inputs`);

  const e = summarize(inProcess);
  const s = sidecars.own_core;
  const shared = sidecars.same_core;
  return {
    enforcer_us_p50: round(e.p50),
    enforcer_us_p99: round(e.p99),
    enforcer_us_mean: round(e.mean),
    sidecar_us_p50: round(s.p50),
    sidecar_us_p99: round(s.p99),
    sidecar_us_mean: round(s.mean),
    ratio_p50: round(s.p50 / e.p50, 1),
    ratio_p99: round(s.p99 / e.p99, 1),
    sidecar_same_core_us_p50: round(shared.p50),
    sidecar_same_core_us_p99: round(shared.p99),
    sidecar_same_core_us_mean: round(shared.mean),
    evaluations: { enforcer: e.n, sidecar: s.n },
    policy: 'rego/ (every module, compiled with the enforcer capabilities)',
    input_bytes_mean: Math.round(
      inputs.slice(0, 600).reduce((n, x) => n + JSON.stringify(x).length, 0) / 600,
    ),
  };
}
