import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from './config';

type Env = Record<string, string | undefined>;

const REDACTED = '[redacted]';

/**
 * A secret read from the configuration. Only {@link SecretValue.reveal} returns it: string
 * conversion, JSON and `util.inspect` print `[redacted]`, so a config object that ends up in a log
 * line or an error by accident does not carry it along.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * How a NATS client logs in, as configured: exactly one method or none. Secrets are
 * {@link SecretValue}s; file methods hold the file's content, read once at boot.
 */
export type NatsAuth =
  | { method: 'none' }
  | {
      method: 'user-password';
      user: string;
      password: SecretValue;
      /** Where it was set: NATS_USER/NATS_PASSWORD or the userinfo of NATS_URL. */
      from: 'NATS_USER' | 'NATS_URL';
    }
  | { method: 'token'; token: SecretValue }
  | { method: 'creds'; file: string; creds: SecretValue }
  | { method: 'nkey'; file: string; seed: SecretValue };

/**
 * Where a NATS client connects and how it logs in, from NATS_URL and the NATS_* auth variables.
 * `url` and every entry of `servers` are free of userinfo: they may be logged.
 */
export interface NatsClientConfig {
  /** The servers comma-separated, as NATS_URL without userinfo. */
  url: string;
  servers: string[];
  auth: NatsAuth;
}

const PROTOCOLS = ['nats:', 'tls:', 'ws:', 'wss:'];
const METHOD_KEYS = 'NATS_USER+NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE or NATS_NKEY_SEED_FILE';
/** A user JWT block then a user nkey seed block, as `nsc` and `nats` write `.creds` files. */
const CREDS_BLOCK = /-{3,}[^\n]*-{3,}\r?\n\s*([\w\-.=]+)\s*\r?\n\s*-{3,}[^\n]*-{3,}/g;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** A user nkey seed: `S`, the `U` (user) prefix, then base32. */
const USER_SEED = /^SU[A-Z2-7]{56}$/;

/**
 * Reads NATS_URL (default `nats://127.0.0.1:4222`, comma-separated servers) and at most one of:
 * NATS_USER with NATS_PASSWORD, `user:password@` in NATS_URL, NATS_TOKEN, NATS_CREDS_FILE or
 * NATS_NKEY_SEED_FILE. Files are read here, so an unreadable or malformed one stops boot. Throws
 * {@link ConfigError} naming the key; no message repeats a secret or a file's content.
 */
export function loadNatsClientConfig(env: Env = process.env): NatsClientConfig {
  const { servers, userinfo } = parseNatsUrl(value(env, 'NATS_URL') ?? 'nats://127.0.0.1:4222');
  const user = value(env, 'NATS_USER');
  const password = value(env, 'NATS_PASSWORD');
  const token = value(env, 'NATS_TOKEN');
  const credsFile = value(env, 'NATS_CREDS_FILE');
  const seedFile = value(env, 'NATS_NKEY_SEED_FILE');

  if (user !== undefined && password === undefined)
    throw new ConfigError('NATS_PASSWORD', 'is required when NATS_USER is set');
  if (password !== undefined && user === undefined)
    throw new ConfigError('NATS_USER', 'is required when NATS_PASSWORD is set');
  const chosen: string[] = [
    ...(userinfo ? ['NATS_URL'] : []),
    ...(user !== undefined ? ['NATS_USER'] : []),
    ...(token !== undefined ? ['NATS_TOKEN'] : []),
    ...(credsFile !== undefined ? ['NATS_CREDS_FILE'] : []),
    ...(seedFile !== undefined ? ['NATS_NKEY_SEED_FILE'] : []),
  ];
  if (chosen.length > 1) {
    const [first, second] = chosen as [string, string];
    throw new ConfigError(
      second,
      `and ${first === 'NATS_URL' ? 'a user:password in NATS_URL' : first} are both set: use one NATS authentication method (${METHOD_KEYS})`,
    );
  }

  const url = servers.join(',');
  if (userinfo) return { url, servers, auth: { method: 'user-password', ...userinfo } };
  if (user !== undefined && password !== undefined)
    return {
      url,
      servers,
      auth: {
        method: 'user-password',
        user,
        password: new SecretValue(password),
        from: 'NATS_USER',
      },
    };
  if (token !== undefined)
    return { url, servers, auth: { method: 'token', token: new SecretValue(token) } };
  if (credsFile !== undefined) {
    const file = resolve(credsFile);
    // The client's parser expects LF line ends; a file edited on Windows must still log in.
    const text = readSecretFile('NATS_CREDS_FILE', file).replace(/\r\n/g, '\n');
    const blocks = [...text.matchAll(CREDS_BLOCK)].map((m) => m[1] ?? '');
    if (blocks.length < 2 || !JWT.test(blocks[0] ?? '') || !USER_SEED.test(blocks[1] ?? ''))
      throw new ConfigError(
        'NATS_CREDS_FILE',
        `is not a NATS credentials file (a user JWT block, then a user nkey seed block): ${file}`,
      );
    return { url, servers, auth: { method: 'creds', file, creds: new SecretValue(text) } };
  }
  if (seedFile !== undefined) {
    const file = resolve(seedFile);
    const seed = readSecretFile('NATS_NKEY_SEED_FILE', file).trim();
    if (!USER_SEED.test(seed))
      throw new ConfigError(
        'NATS_NKEY_SEED_FILE',
        `must hold one user nkey seed (SU followed by 56 base32 characters): ${file}`,
      );
    return { url, servers, auth: { method: 'nkey', file, seed: new SecretValue(seed) } };
  }
  return { url, servers, auth: { method: 'none' } };
}

/** How a client logs in, for logs and error messages: never a secret, at most a user or file name. */
export function describeNatsAuth(auth: NatsAuth): string {
  switch (auth.method) {
    case 'none':
      return 'no credentials';
    case 'user-password':
      return `user "${auth.user}" (${auth.from === 'NATS_URL' ? 'NATS_URL' : 'NATS_USER/NATS_PASSWORD'})`;
    case 'token':
      return 'a token (NATS_TOKEN)';
    case 'creds':
      return `credentials file ${auth.file} (NATS_CREDS_FILE)`;
    case 'nkey':
      return `nkey seed file ${auth.file} (NATS_NKEY_SEED_FILE)`;
  }
}

function value(env: Env, key: string): string | undefined {
  const v = env[key];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * Splits NATS_URL into servers without userinfo. A userinfo must be `user:password` (a lone name
 * could be a token or a user without password: ambiguous, so refused) and the same on every
 * server that carries one; it then applies to all of them.
 */
function parseNatsUrl(raw: string): {
  servers: string[];
  userinfo: { user: string; password: SecretValue; from: 'NATS_URL' } | null;
} {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) throw new ConfigError('NATS_URL', 'must name at least one server');
  let userinfo: { user: string; password: string } | null = null;
  const servers = entries.map((entry, i) => {
    const at = entries.length > 1 ? `entry ${i + 1} ` : '';
    let u: URL;
    try {
      u = new URL(entry);
    } catch {
      // No part of the entry is echoed: it may hold a password that failed to parse.
      throw new ConfigError('NATS_URL', `${at}must be a URL (nats://host:port)`);
    }
    if (!PROTOCOLS.includes(u.protocol))
      throw new ConfigError(
        'NATS_URL',
        `${at}must use ${PROTOCOLS.join(' or ')}, got "${u.protocol}"`,
      );
    if (u.username !== '' || u.password !== '') {
      if (u.username === '' || u.password === '')
        throw new ConfigError(
          'NATS_URL',
          `${at}userinfo must be user:password (for a token use NATS_TOKEN)`,
        );
      const found = { user: decode(u.username), password: decode(u.password) };
      if (userinfo && (userinfo.user !== found.user || userinfo.password !== found.password))
        throw new ConfigError(
          'NATS_URL',
          'carries different credentials for different servers; use NATS_USER and NATS_PASSWORD',
        );
      userinfo = found;
      u.username = '';
      u.password = '';
    }
    // URL.href adds a "/" to a bare host; the client wants host:port as written.
    return u.pathname === '/' && !entry.endsWith('/') ? u.href.slice(0, -1) : u.href;
  });
  const info = userinfo as { user: string; password: string } | null;
  return {
    servers,
    userinfo: info
      ? { user: info.user, password: new SecretValue(info.password), from: 'NATS_URL' }
      : null,
  };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError('NATS_URL', 'userinfo is not valid percent-encoding');
  }
}

function readSecretFile(key: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'read error';
    throw new ConfigError(key, `cannot be read (${code}): ${file}`);
  }
}
