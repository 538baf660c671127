import { dirname, join, resolve } from 'node:path';
import {
  ConfigError,
  EnvReader,
  loadNatsClientConfig,
  type LogLevel,
  type NatsAuth,
} from '@portcullis/platform';
import { CAPABILITIES_FILE } from '@portcullis/policy-runtime';
import { loadDefaultEnforcers } from '../connections/connection-enforcers.allow-list';

/** Repository root, from dist/apps/control-plane/src/config. */
const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..', '..');

const DEFAULT_DATABASE_URL = 'sqlite:.data/control-plane.db';
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[];

/**
 * The whole control-plane configuration, validated once at boot by {@link loadControlPlaneConfig}.
 * Every field has a documented environment variable (docs/control-plane-api.md); tests build the
 * object directly. It is injected everywhere under {@link CONTROL_PLANE_CONFIG} and never mutated.
 */
export interface ControlPlaneConfig {
  /** CP_HOST: interface the REST API binds to. */
  host: string;
  /** CP_PORT: REST port; 0 picks a free port (tests). */
  port: number;
  /** DATABASE_URL: `sqlite:<path>`, `sqlite::memory:` or `postgres://…` (optional `?schema=`). */
  databaseUrl: string;
  /** NATS_URL: servers, comma-separated, without userinfo (a user:password there is in natsAuth). */
  natsUrl: string;
  /**
   * How the control plane logs in to NATS, for its connection and the approvals transport alike
   * (NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE or NATS_NKEY_SEED_FILE).
   */
  natsAuth: NatsAuth;
  /** JETSTREAM_REPLICAS: replicas of every stream, bucket and object store the control plane creates. */
  jetstreamReplicas: number;
  auth: {
    /** AUTH_ISSUER: expected `iss`, exactly. */
    issuer: string;
    /** AUTH_AUDIENCE: comma-separated accepted `aud` values. */
    audience: string[];
    /** AUTH_JWKS_URL: when unset, keys are found by OIDC discovery on the issuer. */
    jwksUrl: string | undefined;
    /** AUTH_ROLES_CLAIM: top-level claim carrying roles (array or space-separated string). */
    rolesClaim: string;
    /** APPROVER_GROUPS_CLAIM: top-level claim carrying an approver's groups (array or space-separated). */
    groupsClaim: string;
  };
  /**
   * CP_PUBLIC_URL: the control plane's URL as callers and webhook receivers reach it (status
   * links point there); default `http://<CP_HOST>:<CP_PORT>`. No trailing slash.
   */
  publicUrl: string;
  opa: {
    /** OPA_BIN: the pinned opa binary. */
    bin: string;
    /** OPA_TIMEOUT_MS: limit for each opa invocation (check, test, build). */
    timeoutMs: number;
    /**
     * Capabilities file passed to `opa build`: exactly the builtins the enforcer can evaluate.
     * Not an environment variable on purpose: it belongs to the enforcer's runtime, not to an operator.
     */
    capabilitiesFile: string;
  };
  /** LOG_LEVEL. */
  logLevel: LogLevel;
  /** Encryption at rest of connection credentials (docs/connections.md). */
  connections: ConnectionsConfig;
  /** Just-in-time approvals (docs/approvals.md). */
  approvals: ApprovalsConfig;
}

/** Expiry sweeping and the optional webhook of just-in-time approvals. */
export interface ApprovalsConfig {
  /** APPROVAL_SWEEP_INTERVAL_MS: how often pending requests past their expiry are marked expired. */
  sweepIntervalMs: number;
  /** APPROVAL_MAX_PENDING_PER_REQUESTER: pending requests one requester (issuer and subject) may have at once. */
  maxPendingPerRequester: number;
  /** The webhook notified on every request and resolution; null when APPROVAL_WEBHOOK_URL is unset. */
  webhook: ApprovalWebhookConfig | null;
}

/** Where approval notifications go and how they are signed and retried. */
export interface ApprovalWebhookConfig {
  /** APPROVAL_WEBHOOK_URL (http or https). */
  url: string;
  /** APPROVAL_WEBHOOK_SECRET: HMAC-SHA256 key of the `Portcullis-Signature` header (>= 16 chars). */
  secret: string;
  /** APPROVAL_WEBHOOK_MAX_ATTEMPTS: deliveries tried before a notification is given up. */
  maxAttempts: number;
  /** APPROVAL_WEBHOOK_TIMEOUT_MS: limit of one delivery attempt. */
  timeoutMs: number;
}

/** One AES-256 key for connection credentials at rest, named by the id stored with each ciphertext. */
export interface ConnectionEncryptionKey {
  kid: string;
  key: Buffer;
}

/**
 * Where the keys for connection credentials come from. `keys` (CONNECTION_ENCRYPTION_KEYS): the
 * first encrypts, all decrypt. When it is null, the key file is used, generated on first boot.
 */
export interface ConnectionsConfig {
  /** CONNECTION_ENCRYPTION_KEYS: `kid:base64,kid:base64`; null when unset. */
  keys: ConnectionEncryptionKey[] | null;
  /** CONNECTION_KEY_FILE: used only when `keys` is null; default beside the SQLite file. */
  keyFile: string;
  /**
   * CONNECTION_DEFAULT_ENFORCERS: the enforcer allow-list of a connection created without one;
   * unset `["*"]`, set empty `[]` (docs/connections.md).
   */
  defaultEnforcers: string[];
}

/** Nest injection token of the {@link ControlPlaneConfig}. */
export const CONTROL_PLANE_CONFIG = Symbol('CONTROL_PLANE_CONFIG');

/** Reads and validates the whole environment; throws {@link ConfigError} naming the first bad key. */
export function loadControlPlaneConfig(
  env: Record<string, string | undefined> = process.env,
): ControlPlaneConfig {
  const r = new EnvReader(env);
  const databaseUrl = r.string('DATABASE_URL', DEFAULT_DATABASE_URL);
  checkDatabaseUrl(databaseUrl);
  const rolesClaim = r.string('AUTH_ROLES_CLAIM', 'portcullis_roles');
  if (!/^[A-Za-z0-9_:.\-/]{1,128}$/.test(rolesClaim)) {
    throw new ConfigError('AUTH_ROLES_CLAIM', 'must be a claim name (letters, digits, _ : . - /)');
  }
  const audience = r.list('AUTH_AUDIENCE', ['portcullis-control-plane']);
  if (audience.length === 0)
    throw new ConfigError('AUTH_AUDIENCE', 'must name at least one audience');
  const jwksUrl = r.optionalString('AUTH_JWKS_URL');
  const groupsClaim = r.string('APPROVER_GROUPS_CLAIM', 'groups');
  if (!/^[A-Za-z0-9_:.\-/]{1,128}$/.test(groupsClaim)) {
    throw new ConfigError(
      'APPROVER_GROUPS_CLAIM',
      'must be a claim name (letters, digits, _ : . - /)',
    );
  }
  const host = r.string('CP_HOST', '127.0.0.1');
  const port = r.port('CP_PORT', 8700);
  const nats = loadNatsClientConfig(env);
  return {
    host,
    port,
    databaseUrl,
    natsUrl: nats.url,
    natsAuth: nats.auth,
    jetstreamReplicas: r.int('JETSTREAM_REPLICAS', 1, { min: 1, max: 5 }),
    auth: {
      issuer: r.url('AUTH_ISSUER'),
      audience,
      jwksUrl: jwksUrl === undefined ? undefined : r.url('AUTH_JWKS_URL'),
      rolesClaim,
      groupsClaim,
    },
    publicUrl: r
      .url('CP_PUBLIC_URL', `http://${host.includes(':') ? `[${host}]` : host}:${port}`)
      .replace(/\/+$/, ''),
    opa: {
      bin: r.string('OPA_BIN', resolve(REPO_ROOT, '.tools', 'bin', 'opa')),
      timeoutMs: r.int('OPA_TIMEOUT_MS', 60_000, { min: 1000, max: 600_000 }),
      capabilitiesFile: CAPABILITIES_FILE,
    },
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    connections: {
      keys: parseConnectionKeys(r.optionalString('CONNECTION_ENCRYPTION_KEYS')),
      keyFile: resolve(r.string('CONNECTION_KEY_FILE', defaultKeyFile(databaseUrl))),
      defaultEnforcers: loadDefaultEnforcers(env),
    },
    approvals: {
      sweepIntervalMs: r.int('APPROVAL_SWEEP_INTERVAL_MS', 5000, { min: 100, max: 600_000 }),
      maxPendingPerRequester: r.int('APPROVAL_MAX_PENDING_PER_REQUESTER', 20, {
        min: 1,
        max: 10_000,
      }),
      webhook: approvalWebhook(r),
    },
  };
}

/** The webhook is optional; once a URL is set, its secret is required (an unsigned hook is a forgery channel). */
function approvalWebhook(r: EnvReader): ApprovalWebhookConfig | null {
  const secret = r.optionalString('APPROVAL_WEBHOOK_SECRET');
  if (r.optionalString('APPROVAL_WEBHOOK_URL') === undefined) {
    if (secret !== undefined)
      throw new ConfigError('APPROVAL_WEBHOOK_SECRET', 'is set but APPROVAL_WEBHOOK_URL is not');
    return null;
  }
  const url = r.url('APPROVAL_WEBHOOK_URL');
  if (secret === undefined)
    throw new ConfigError(
      'APPROVAL_WEBHOOK_SECRET',
      'is required when APPROVAL_WEBHOOK_URL is set',
    );
  if (secret.length < 16)
    throw new ConfigError('APPROVAL_WEBHOOK_SECRET', 'must be at least 16 characters');
  return {
    url,
    secret,
    maxAttempts: r.int('APPROVAL_WEBHOOK_MAX_ATTEMPTS', 10, { min: 1, max: 50 }),
    timeoutMs: r.int('APPROVAL_WEBHOOK_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
  };
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses `kid:base64-32-bytes` entries, comma-separated. Errors name the entry by position and
 * id, never by its key material.
 */
export function parseConnectionKeys(
  value: string | undefined,
  key = 'CONNECTION_ENCRYPTION_KEYS',
): ConnectionEncryptionKey[] | null {
  if (value === undefined) return null;
  const entries = value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) throw new ConfigError(key, 'must name at least one key');
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const kid = colon < 0 ? '' : entry.slice(0, colon);
    if (!KEY_ID.test(kid))
      throw new ConfigError(
        key,
        `entry ${i + 1} must be <kid>:<base64 key> with kid matching ${String(KEY_ID)}`,
      );
    if (seen.has(kid)) throw new ConfigError(key, `key id "${kid}" is used twice`);
    seen.add(kid);
    const b64 = entry.slice(colon + 1);
    const bytes = Buffer.from(b64, 'base64');
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64) || bytes.length !== 32)
      throw new ConfigError(key, `key "${kid}" must be exactly 32 bytes, base64-encoded`);
    return { kid, key: bytes };
  });
}

/** Beside the SQLite file, so the dev database and its key live and die together. */
function defaultKeyFile(databaseUrl: string): string {
  if (databaseUrl.startsWith('sqlite:') && databaseUrl !== 'sqlite::memory:')
    return join(dirname(resolve(databaseUrl.slice('sqlite:'.length))), 'connection-keys');
  return join('.data', 'connection-keys');
}

function checkDatabaseUrl(url: string): void {
  if (url === 'sqlite::memory:') return;
  if (url.startsWith('sqlite:')) {
    if (url.length === 'sqlite:'.length)
      throw new ConfigError('DATABASE_URL', 'sqlite: needs a file path');
    return;
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid postgres:// URL');
    }
    return;
  }
  throw new ConfigError('DATABASE_URL', 'must start with sqlite: or postgres://');
}
