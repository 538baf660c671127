import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import {
  ContractViolation,
  NAME_PATTERN,
  isObject,
  parseConnectionCredential,
} from '@portcullis/contracts';
import {
  ConfigError,
  EnvReader,
  loadNatsClientConfig,
  redactUrl,
  type LogLevel,
  type NatsAuth,
} from '@portcullis/platform';
import type { InjectedCredential } from '../connections/connection.types';

/** One upstream the enforcer protects, addressed by callers as `/<name>/<rest>`. */
export interface ConnectionConfig {
  name: string;
  type: 'http';
  /** Base URL; `<rest>` is appended to its path. Never logged with userinfo. */
  url: URL;
  labels: Record<string, string>;
  /**
   * Credential injected into allowed calls, resolved at boot from the environment variables the
   * file names (a file never holds a secret). Absent or null: none.
   */
  credentials?: InjectedCredential | null;
}

export type FailMode = 'closed' | 'open';

/** What happens to a response larger than the masking limit when the policy asks to mask it. */
export type MaskOversize = 'fail' | 'truncate';

/** Just-in-time approval: how the enforcer escalates to the control plane. */
export interface ApprovalConfig {
  /** Longest a caller may be held (`Prefer: wait=N` is capped to this); 0 never holds. */
  maxWaitSeconds: number;
  /** Calls held at once at most; beyond it an escalated call is answered 202 at once. */
  maxHeld: number;
  /** How long one NATS request to the control plane may take before the call fails closed. */
  requestTimeoutMs: number;
  /** Public base URL of the control plane, for the `status_url` in a 202 answer. */
  controlPlaneUrl: string;
}

/** Response masking and call recording limits (the `mask` and `record` obligations). */
export interface GuardrailConfig {
  /** Largest (decoded) response body the enforcer masks; larger ones fail closed or are truncated. */
  maskMaxBytes: number;
  maskOversize: MaskOversize;
  /** Key for the `hash` masking strategy (HMAC-SHA256); the same key on every enforcer keeps hashes joinable. */
  maskHashKey: Buffer;
  /** Whether maskHashKey was generated at boot (hashes then differ between enforcers and restarts). */
  maskHashKeyGenerated: boolean;
  /** Cap on each body an audit record keeps when the `record` obligation asks for it. */
  recordMaxBytes: number;
}

/**
 * The enforcer's whole configuration, validated once at boot by {@link loadEnforcerConfig}.
 * Tests build it directly (ports 0 are allowed and mean "pick a free one").
 */
export interface EnforcerConfig {
  enforcerId: string;
  host: string;
  port: number;
  adminPort: number;
  bundle: string;
  /** ENFORCER_CONNECTIONS_FILE (optional): connections defined locally; they win over the control plane's. */
  connections: ConnectionConfig[];
  /**
   * ENFORCER_SERVES: control-plane connections this enforcer serves (and receives secrets for),
   * `['*']` for all. Absent means `['*']`.
   */
  connectionServes?: readonly string[];
  /** NATS_URL: servers, comma-separated, without userinfo (a user:password there is in natsAuth). */
  natsUrl: string;
  /** How the enforcer logs in to NATS (NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE, NATS_NKEY_SEED_FILE). */
  natsAuth: NatsAuth;
  jetStreamReplicas: number;
  auth: { issuer: string; audience: string[]; jwksUrl?: string };
  maxBodyBytes: number;
  maxHeaderBytes: number;
  requestTimeoutMs: number;
  upstreamTimeoutMs: number;
  failMode: FailMode;
  guardrails: GuardrailConfig;
  approvals: ApprovalConfig;
  /** How often the enforcer re-reports its status to the enforcer KV bucket. */
  statusIntervalMs: number;
  /** Decision events held in memory while NATS is unreachable; beyond that they are dropped (counted). */
  eventQueueMax: number;
  logLevel: LogLevel;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const FAIL_MODES = ['closed', 'open'] as const;
const MASK_OVERSIZE = ['fail', 'truncate'] as const;

/** Reads and validates every enforcer setting; throws {@link ConfigError} naming the first bad key. */
export function loadEnforcerConfig(
  env: Record<string, string | undefined> = process.env,
): EnforcerConfig {
  const r = new EnvReader(env);
  const enforcerId = r.optionalString('ENFORCER_ID') ?? idFromHostname(hostname());
  if (!NAME_PATTERN.test(enforcerId)) {
    throw new ConfigError('ENFORCER_ID', `must match ${String(NAME_PATTERN)}, got "${enforcerId}"`);
  }
  const bundle = r.string('ENFORCER_BUNDLE', 'default');
  if (!NAME_PATTERN.test(bundle)) {
    throw new ConfigError('ENFORCER_BUNDLE', `must match ${String(NAME_PATTERN)}, got "${bundle}"`);
  }
  const port = r.port('ENFORCER_PORT', 8800);
  const adminPort = r.port('ENFORCER_ADMIN_PORT', 8801);
  if (port !== 0 && port === adminPort) {
    throw new ConfigError(
      'ENFORCER_ADMIN_PORT',
      'must differ from ENFORCER_PORT (every proxy path belongs to a connection)',
    );
  }
  const connectionsFile = r.optionalString('ENFORCER_CONNECTIONS_FILE');
  const audience = r.list('AUTH_AUDIENCE', ['portcullis-enforcer']);
  if (audience.length === 0)
    throw new ConfigError('AUTH_AUDIENCE', 'must name at least one audience');
  const jwksUrl =
    r.optionalString('AUTH_JWKS_URL') === undefined ? undefined : r.url('AUTH_JWKS_URL');
  const nats = loadNatsClientConfig(env);
  return {
    enforcerId,
    host: r.string('ENFORCER_HOST', '127.0.0.1'),
    port,
    adminPort,
    bundle,
    connections: connectionsFile === undefined ? [] : loadConnectionsFile(connectionsFile, env),
    connectionServes: parseServes(r.list('ENFORCER_SERVES', ['*'])),
    natsUrl: nats.url,
    natsAuth: nats.auth,
    jetStreamReplicas: r.int('JETSTREAM_REPLICAS', 1, { min: 1, max: 5 }),
    auth: { issuer: r.url('AUTH_ISSUER'), audience, ...(jwksUrl ? { jwksUrl } : {}) },
    maxBodyBytes: r.int('ENFORCER_MAX_BODY_BYTES', 1_048_576, { min: 0, max: 64 * 1_048_576 }),
    maxHeaderBytes: r.int('ENFORCER_MAX_HEADER_BYTES', 16_384, { min: 1024, max: 1_048_576 }),
    requestTimeoutMs: r.int('ENFORCER_REQUEST_TIMEOUT_MS', 30_000, { min: 100, max: 3_600_000 }),
    upstreamTimeoutMs: r.int('ENFORCER_UPSTREAM_TIMEOUT_MS', 30_000, { min: 100, max: 3_600_000 }),
    failMode: r.oneOf('ENFORCER_FAIL_MODE', FAIL_MODES, 'closed'),
    guardrails: loadGuardrails(r),
    approvals: {
      maxWaitSeconds: r.int('ENFORCER_APPROVAL_MAX_WAIT_SECONDS', 60, { min: 0, max: 3600 }),
      maxHeld: r.int('ENFORCER_APPROVAL_MAX_HELD', 256, { min: 0, max: 100_000 }),
      requestTimeoutMs: r.int('ENFORCER_APPROVAL_TIMEOUT_MS', 3000, { min: 100, max: 60_000 }),
      controlPlaneUrl: r
        .url('ENFORCER_CONTROL_PLANE_URL', 'http://127.0.0.1:8700', ['http:', 'https:'])
        .replace(/\/+$/, ''),
    },
    statusIntervalMs: r.int('ENFORCER_STATUS_INTERVAL_MS', 10_000, { min: 100, max: 3_600_000 }),
    eventQueueMax: r.int('ENFORCER_EVENT_QUEUE_MAX', 10_000, { min: 1, max: 1_000_000 }),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
}

function loadGuardrails(r: EnvReader): GuardrailConfig {
  const rawKey = r.optionalString('ENFORCER_MASK_HASH_KEY');
  let maskHashKey: Buffer;
  if (rawKey === undefined) {
    maskHashKey = randomBytes(32);
  } else {
    maskHashKey = Buffer.from(rawKey, /^[0-9a-f]+$/i.test(rawKey) ? 'hex' : 'base64');
    if (maskHashKey.length < 32) {
      throw new ConfigError(
        'ENFORCER_MASK_HASH_KEY',
        'must be at least 32 bytes (64 hex digits or base64)',
      );
    }
  }
  return {
    maskMaxBytes: r.int('ENFORCER_MASK_MAX_BYTES', 8 * 1_048_576, {
      min: 1024,
      max: 256 * 1_048_576,
    }),
    maskOversize: r.oneOf('ENFORCER_MASK_OVERSIZE', MASK_OVERSIZE, 'fail'),
    maskHashKey,
    maskHashKeyGenerated: rawKey === undefined,
    // Both bodies must fit one NATS message (1 MiB by default) together with the event.
    recordMaxBytes: r.int('ENFORCER_RECORD_MAX_BYTES', 65_536, { min: 0, max: 262_144 }),
  };
}

/** Host names carry dots and upper case; enforcer ids travel in NATS subjects, so they cannot. */
export function idFromHostname(host: string): string {
  const id = host
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return id === '' ? 'enforcer' : id;
}

/** `*` or connection names: what ENFORCER_SERVES may hold. */
export function parseServes(values: string[], key = 'ENFORCER_SERVES'): string[] {
  if (values.length === 0) throw new ConfigError(key, 'must be "*" or a list of connection names');
  for (const v of values) {
    if (v !== '*' && !NAME_PATTERN.test(v))
      throw new ConfigError(
        key,
        `"${v}" is neither "*" nor a name matching ${String(NAME_PATTERN)}`,
      );
  }
  return values.includes('*') ? ['*'] : [...new Set(values)];
}

function loadConnectionsFile(
  path: string,
  env: Record<string, string | undefined>,
): ConnectionConfig[] {
  const key = 'ENFORCER_CONNECTIONS_FILE';
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'read error';
    throw new ConfigError(key, `cannot be read (${code}): ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      key,
      `is not valid JSON (${err instanceof Error ? err.message : String(err)}): ${path}`,
    );
  }
  return parseConnections(json, key, env);
}

/**
 * Validates `{ connections: [{ name, type: "http", url, labels?, credentials? }] }`. Errors name the
 * config key and the offending entry (`connections[2] "crm": url ...`) so the operator can fix it
 * at once. Credentials name environment variables (`token_env` …), read from `env` here.
 */
export function parseConnections(
  json: unknown,
  key = 'ENFORCER_CONNECTIONS_FILE',
  env: Record<string, string | undefined> = process.env,
): ConnectionConfig[] {
  if (!isObject(json) || !Array.isArray(json.connections)) {
    throw new ConfigError(key, 'must contain {"connections": [ ... ]}');
  }
  const seen = new Set<string>();
  return json.connections.map((entry: unknown, i): ConnectionConfig => {
    const at = (name?: unknown) =>
      `connections[${i}]${typeof name === 'string' ? ` "${name}"` : ''}`;
    if (!isObject(entry)) throw new ConfigError(key, `${at()} must be an object`);
    const { name, type, url, labels, credentials } = entry;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new ConfigError(key, `${at(name)}: name must match ${String(NAME_PATTERN)}`);
    }
    if (seen.has(name)) throw new ConfigError(key, `${at(name)}: name is used twice`);
    seen.add(name);
    if (type !== 'http')
      throw new ConfigError(key, `${at(name)}: type must be "http", got ${JSON.stringify(type)}`);
    if (typeof url !== 'string') throw new ConfigError(key, `${at(name)}: url must be a string`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(key, `${at(name)}: url is not a URL: "${redactUrl(url)}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError(
        key,
        `${at(name)}: url must be http or https, got "${parsed.protocol}"`,
      );
    }
    if (parsed.search !== '' || parsed.hash !== '') {
      throw new ConfigError(key, `${at(name)}: url must not carry a query or fragment`);
    }
    if (parsed.username !== '' || parsed.password !== '') {
      throw new ConfigError(key, `${at(name)}: url must not carry credentials`);
    }
    const lbls: Record<string, string> = {};
    if (labels !== undefined) {
      if (!isObject(labels))
        throw new ConfigError(key, `${at(name)}: labels must be an object of strings`);
      for (const [k, v] of Object.entries(labels)) {
        if (typeof v !== 'string')
          throw new ConfigError(key, `${at(name)}: labels.${k} must be a string`);
        lbls[k] = v;
      }
    }
    return {
      name,
      type: 'http',
      url: parsed,
      labels: lbls,
      credentials: fileCredentials(
        credentials,
        env,
        (detail) => new ConfigError(key, `${at(name)}: ${detail}`),
      ),
    };
  });
}

/** Fields of a file credential that name an environment variable, and the secret each supplies. */
const ENV_FIELDS: Record<string, Record<string, string>> = {
  bearer: { token_env: 'token' },
  basic: { username_env: 'username', password_env: 'password' },
  header: { value_env: 'value' },
};
/** Fields a file credential may give literally: they are not secret. */
const LITERAL_FIELDS: Record<string, ReadonlySet<string>> = {
  bearer: new Set(['type']),
  basic: new Set(['type', 'username']),
  header: new Set(['type', 'name']),
};

/**
 * A file credential with its secrets read from the environment. A secret written into the file
 * itself is refused: files are copied, committed and logged far more often than environments.
 */
function fileCredentials(
  value: unknown,
  env: Record<string, string | undefined>,
  fail: (detail: string) => ConfigError,
): InjectedCredential | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw fail('credentials must be an object');
  const type = typeof value.type === 'string' ? value.type : '';
  const envFields = ENV_FIELDS[type];
  const literal = LITERAL_FIELDS[type];
  if (!envFields || !literal) throw fail('credentials.type must be one of bearer, basic, header');
  const resolved: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(value)) {
    const target = envFields[field];
    if (target !== undefined) {
      if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
        throw fail(`credentials.${field} must name an environment variable`);
      const secret = env[v];
      if (secret === undefined || secret === '')
        throw fail(`credentials.${field} names ${v}, which is not set`);
      resolved[target] = secret;
    } else if (literal.has(field)) {
      resolved[field] = v;
    } else if (Object.values(envFields).includes(field)) {
      throw fail(`credentials.${field} must not be in the file; use ${field}_env`);
    } else {
      throw fail(`credentials.${field} is not a field of a ${type} credential`);
    }
  }
  try {
    return parseConnectionCredential(resolved, 'credentials', 'credentials.');
  } catch (err) {
    if (err instanceof ContractViolation) throw fail(err.message.slice(`${err.contract}: `.length));
    throw err;
  }
}
