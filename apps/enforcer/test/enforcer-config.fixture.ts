import type { EnforcerConfig } from '../src/config/enforcer.config';

/** What every test enforcer must be told; the rest defaults to small, fast, quiet settings. */
export interface TestEnforcerBasics {
  enforcerId: string;
  bundle: string;
  natsUrl: string;
  issuer: string;
  /** Upstream of the default `crm` connection (ignored when `connections` is overridden). */
  upstreamUrl: string;
}

/** An enforcer configuration for tests: loopback, ephemeral ports, small limits, fail closed. */
export function testEnforcerConfig(
  basics: TestEnforcerBasics,
  over: Partial<EnforcerConfig> = {},
): EnforcerConfig {
  return {
    enforcerId: basics.enforcerId,
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    bundle: basics.bundle,
    connections: [{ name: 'crm', type: 'http', url: new URL(basics.upstreamUrl), labels: {} }],
    natsUrl: basics.natsUrl,
    natsAuth: { method: 'none' },
    jetStreamReplicas: 1,
    auth: { issuer: basics.issuer, audience: ['portcullis-enforcer'] },
    maxBodyBytes: 1024,
    maxHeaderBytes: 8192,
    requestTimeoutMs: 10_000,
    upstreamTimeoutMs: 10_000,
    failMode: 'closed',
    guardrails: {
      maskMaxBytes: 1_048_576,
      maskOversize: 'fail',
      maskHashKey: Buffer.alloc(32, 7),
      maskHashKeyGenerated: false,
      recordMaxBytes: 4096,
    },
    approvals: {
      maxWaitSeconds: 30,
      maxHeld: 16,
      requestTimeoutMs: 2000,
      controlPlaneUrl: 'http://127.0.0.1:8700',
    },
    statusIntervalMs: 60_000,
    eventQueueMax: 1000,
    logLevel: 'error',
    ...over,
  };
}
