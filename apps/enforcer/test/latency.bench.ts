// Measures the latency one proxied call adds: the same sequential keep-alive GETs straight to an
// upstream and through an in-process enforcer (real nats-server, opa-compiled policy, RS256 token).
// Run: npx tsc -p tsconfig.json && node dist/apps/enforcer/test/latency.bench.js [calls]
import { Agent, request } from 'node:http';
import { connect as connectNats } from '@nats-io/transport-node';
import { Logger } from '@portcullis/platform';
import { NatsServerProcess, TokenIssuer, waitFor } from '@portcullis/testing';
import { createEnforcer } from '../src/enforcer.app';
import { activate, compileRego, uploadVersion } from './policy-bundle.fixture';
import { RecordingUpstream } from './recording-upstream.fixture';
import { testEnforcerConfig } from './enforcer-config.fixture';

const POLICY = `package portcullis

import rego.v1

default decision := {"allow": false, "reasons": ["no"]}

decision := {"allow": true, "reasons": []} if {
	input.identity.claims.team == "billing"
	input.request.method == "GET"
	startswith(input.request.path, "/customers")
}
`;

async function timeCalls(
  port: number,
  path: string,
  headers: Record<string, string>,
  n: number,
): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Number(process.hrtime.bigint() - t0) / 1e6)
            : reject(new Error(`status ${res.statusCode}`)),
        );
      });
      req.on('error', reject);
      req.end();
    });
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await one());
  agent.destroy();
  return out.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 2000);
  const nats = await NatsServerProcess.start();
  const nc = await connectNats({ servers: nats.url });
  const issuer = new TokenIssuer({ port: 0, audience: 'portcullis-enforcer' });
  await issuer.start();
  const upstream = new RecordingUpstream();
  await upstream.start();
  const enforcer = createEnforcer(
    testEnforcerConfig(
      {
        enforcerId: 'bench',
        bundle: 'bench',
        natsUrl: nats.url,
        issuer: issuer.issuer,
        upstreamUrl: upstream.url,
      },
      // The production defaults, not the small test limits.
      {
        maxBodyBytes: 1_048_576,
        maxHeaderBytes: 16_384,
        requestTimeoutMs: 30_000,
        upstreamTimeoutMs: 30_000,
        statusIntervalMs: 10_000,
        eventQueueMax: 100_000,
      },
    ),
    { logger: new Logger('bench', 'error', () => undefined) },
  );
  try {
    await enforcer.start();
    await activate(nc, await uploadVersion(nc, 'bench', 1, compileRego({ 'policy.rego': POLICY })));
    await waitFor(() => enforcer.watcher.current() !== null, 10_000, 'policy');
    const token = await issuer.mint({ sub: 'fn-bench', claims: { team: 'billing' }, ttl: 3600 });
    const auth = { authorization: `Bearer ${token}` };
    await timeCalls(upstream.port, '/customers/1', {}, 200); // warm-up
    await timeCalls(enforcer.proxyPort, '/crm/customers/1', auth, 200);
    upstream.seen.length = 0;
    const direct = await timeCalls(upstream.port, '/customers/1', {}, n);
    upstream.seen.length = 0;
    const proxied = await timeCalls(enforcer.proxyPort, '/crm/customers/1', auth, n);
    const line = (name: string, xs: number[]) =>
      `${name.padEnd(9)} p50 ${pct(xs, 50).toFixed(3)} ms  p90 ${pct(xs, 90).toFixed(3)} ms  p99 ${pct(xs, 99).toFixed(3)} ms`;
    process.stdout.write(
      `${n} sequential keep-alive GETs\n${line('direct', direct)}\n${line('enforcer', proxied)}\n`,
    );
    process.stdout.write(
      `added    p50 ${(pct(proxied, 50) - pct(direct, 50)).toFixed(3)} ms  p99 ${(pct(proxied, 99) - pct(direct, 99)).toFixed(3)} ms\n`,
    );
  } finally {
    await enforcer.stop();
    await nc.close();
    await upstream.stop();
    await issuer.stop();
    await nats.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
