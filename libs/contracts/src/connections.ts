import { NAME_PATTERN } from './nats';
import { ContractViolation, Reader, isObject, type JsonObject } from './validation';

/**
 * NATS names of connection distribution. Like {@link NATS_NAMES}, change them only with a contract
 * version bump.
 */
export const CONNECTION_NATS_NAMES = {
  /** KV bucket: key `<connection>` holds the {@link ConnectionRecord} enforcers load. */
  connectionsBucket: 'PORTCULLIS_CONNECTIONS',
  /** KV bucket: key `<enforcer_id>` holds the {@link EnforcerKey} connection secrets are sealed to. */
  enforcerKeysBucket: 'PORTCULLIS_ENFORCER_KEYS',
} as const;

/**
 * An enforcer key disappears from the bucket this long after its last registration (bucket TTL),
 * so a key of a stopped or crashed enforcer stops receiving secrets.
 */
export const ENFORCER_KEY_TTL_MS = 15 * 60 * 1000;
/** How often a running enforcer re-registers its key; well inside {@link ENFORCER_KEY_TTL_MS}. */
export const ENFORCER_KEY_REFRESH_MS = 60 * 1000;

/** Key management of every sealed connection secret: ECDH-ES on P-256 wrapping an A256GCM key. */
export const CONNECTION_JWE_ALG = 'ECDH-ES+A256KW';
export const CONNECTION_JWE_ENC = 'A256GCM';

export const CREDENTIAL_TYPES = ['bearer', 'basic', 'header'] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

/** An upstream credential in clear. It exists only in memory (control plane, enforcer) and inside a JWE. */
export type ConnectionCredential =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

/** RFC 9110 token characters: what a header field name may consist of. */
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;
/**
 * Headers a credential may not be injected as: hop-by-hop and framing headers (the enforcer owns
 * them; injecting one would desynchronize the upstream connection) and the enforcer's own.
 */
const FORBIDDEN_CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);
/** Visible ASCII, space and tab, nothing else: no CR/LF (header injection), no NUL. */
const HEADER_VALUE = /^[\x20-\x7e\t]*$/;
/** Longest secret value accepted (a long JWT or API key fits well within it). */
export const MAX_CREDENTIAL_VALUE_LENGTH = 8192;

/**
 * Why `name` cannot carry an injected credential, or null when it can. Shared by the control-plane
 * API and the enforcer's connections file so both refuse the same names.
 */
export function credentialHeaderNameProblem(name: string): string | null {
  if (!HEADER_TOKEN.test(name)) return 'must be an HTTP header name (RFC 9110 token characters)';
  const lower = name.toLowerCase();
  if (FORBIDDEN_CREDENTIAL_HEADERS.has(lower) || lower.startsWith('proxy-'))
    return `must not be the hop-by-hop or framing header "${lower}"`;
  if (lower.startsWith('x-portcullis-')) return 'must not be an x-portcullis-* header';
  return null;
}

/**
 * Why a secret value cannot go into an HTTP header, or null when it can. Never quotes the value:
 * the message reaches callers and logs.
 */
export function credentialValueProblem(value: string, allowEmpty = false): string | null {
  if (value.length === 0 && !allowEmpty) return 'must not be empty';
  if (value.length > MAX_CREDENTIAL_VALUE_LENGTH)
    return `must be at most ${MAX_CREDENTIAL_VALUE_LENGTH} characters`;
  if (!HEADER_VALUE.test(value)) return 'must be printable ASCII (no control characters, CR or LF)';
  if (value !== value.trim()) return 'must not start or end with whitespace';
  return null;
}

/**
 * Why `url` cannot be a connection's base URL, or null when it can: http or https, no userinfo
 * (credentials belong in `credentials`, where they are encrypted), no query or fragment.
 */
export function connectionUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `must use http or https, got "${u.protocol}"`;
  if (u.username !== '' || u.password !== '')
    return 'must not carry credentials (use "credentials")';
  if (u.search !== '' || u.hash !== '') return 'must not carry a query or fragment';
  return null;
}

/**
 * Checks a credential in clear (as decrypted, or as sent to the API) and returns it without extra
 * fields; `contract` and `prefix` name where it came from in the {@link ContractViolation}.
 */
export function parseConnectionCredential(
  value: unknown,
  contract: string,
  prefix = '',
): ConnectionCredential {
  if (!isObject(value))
    throw new ContractViolation(contract, prefix || '(root)', 'must be an object');
  const r = new Reader(contract, value, prefix);
  const type = r.oneOf('type', CREDENTIAL_TYPES);
  const secret = (field: string, allowEmpty = false): string => {
    const v = r.string(field);
    const problem = credentialValueProblem(v, allowEmpty);
    if (problem) throw new ContractViolation(contract, `${prefix}${field}`, problem);
    return v;
  };
  switch (type) {
    case 'bearer':
      return { type, token: secret('token') };
    case 'basic': {
      const username = secret('username');
      if (username.includes(':'))
        throw new ContractViolation(contract, `${prefix}username`, 'must not contain ":"');
      return { type, username, password: secret('password', true) };
    }
    case 'header': {
      const name = r.string('name');
      const problem = credentialHeaderNameProblem(name);
      if (problem) throw new ContractViolation(contract, `${prefix}name`, problem);
      return { type, name, value: secret('value') };
    }
  }
}

export const ENFORCER_KEY_SCHEMA = 'portcullis.enforcer-key/v1';

/** An EC P-256 public key as a JWK: what an enforcer publishes. Never carries `d`. */
export interface EnforcerPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/**
 * An enforcer's key-agreement public key and the connections it serves, written by the enforcer to
 * the enforcer-keys bucket at start and every {@link ENFORCER_KEY_REFRESH_MS}. The private key
 * never leaves the enforcer process; the control plane seals each connection's secret to the keys
 * of the enforcers that serve it.
 */
export interface EnforcerKey {
  schema: typeof ENFORCER_KEY_SCHEMA;
  enforcer_id: string;
  /** RFC 7638 thumbprint of `public_jwk`; the JWE recipient `kid`. */
  kid: string;
  alg: typeof CONNECTION_JWE_ALG;
  public_jwk: EnforcerPublicJwk;
  /** Connection names this enforcer serves, or `["*"]` for every connection. */
  serves: string[];
  registered_at: string;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
/** A P-256 coordinate: 32 bytes, base64url without padding. */
const P256_COORD = /^[A-Za-z0-9_-]{43}$/;

export function parseEnforcerKey(value: unknown): EnforcerKey {
  const r = Reader.of('EnforcerKey', value);
  r.oneOf('schema', [ENFORCER_KEY_SCHEMA]);
  const jwk = r.object('public_jwk');
  if (jwk.raw('d') !== undefined)
    throw new ContractViolation('EnforcerKey', 'public_jwk.d', 'must be absent (a private key)');
  const serves = r.stringArray('serves');
  for (const s of serves) {
    if (s !== '*' && !NAME_PATTERN.test(s))
      throw new ContractViolation(
        'EnforcerKey',
        'serves',
        `"${s}" is not "*" or a connection name`,
      );
  }
  return {
    schema: ENFORCER_KEY_SCHEMA,
    enforcer_id: r.string('enforcer_id', { pattern: NAME_PATTERN }),
    kid: r.string('kid', { pattern: B64URL, max: 128 }),
    alg: r.oneOf('alg', [CONNECTION_JWE_ALG]),
    public_jwk: {
      kty: jwk.oneOf('kty', ['EC']),
      crv: jwk.oneOf('crv', ['P-256']),
      x: jwk.string('x', { pattern: P256_COORD }),
      y: jwk.string('y', { pattern: P256_COORD }),
    },
    serves,
    registered_at: r.timestamp('registered_at'),
  };
}

/** Whether an enforcer registered as serving `serves` serves the connection `name`. */
export function servesConnection(serves: readonly string[], name: string): boolean {
  return serves.includes('*') || serves.includes(name);
}

/** One recipient of a {@link ConnectionJwe}: its `header.kid` is an enforcer key's `kid`. */
export interface ConnectionJweRecipient {
  header: JsonObject & { kid: string; alg: typeof CONNECTION_JWE_ALG };
  encrypted_key: string;
}

/**
 * A JWE in General JSON serialization (RFC 7516 §7.2.1): one ciphertext, one recipient per
 * enforcer key it is sealed to. Its `aad` is the base64url of the connection name, and its
 * protected header carries the {@link ConnectionSealBinding} under
 * {@link CONNECTION_SEAL_BINDING_PARAM}; both are authenticated with the ciphertext, so a sealed
 * secret moved to another connection's entry, or to an entry with another URL, credential type or
 * header name, is refused.
 */
export interface ConnectionJwe {
  protected: string;
  iv: string;
  ciphertext: string;
  tag: string;
  aad: string;
  recipients: ConnectionJweRecipient[];
}

function parseJwe(r: Reader): ConnectionJwe {
  const raw = r.raw('recipients');
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ContractViolation(
      'ConnectionRecord',
      'credentials.jwe.recipients',
      'must be a non-empty array',
    );
  const recipients = raw.map((rec: unknown, i): ConnectionJweRecipient => {
    const field = `credentials.jwe.recipients[${i}]`;
    if (!isObject(rec) || !isObject(rec.header))
      throw new ContractViolation('ConnectionRecord', field, 'must be an object with a header');
    const { kid, alg } = rec.header;
    if (typeof kid !== 'string' || !B64URL.test(kid))
      throw new ContractViolation('ConnectionRecord', `${field}.header.kid`, 'must be a key id');
    if (alg !== CONNECTION_JWE_ALG)
      throw new ContractViolation(
        'ConnectionRecord',
        `${field}.header.alg`,
        `must be ${CONNECTION_JWE_ALG}`,
      );
    if (typeof rec.encrypted_key !== 'string' || !B64URL.test(rec.encrypted_key))
      throw new ContractViolation(
        'ConnectionRecord',
        `${field}.encrypted_key`,
        'must be base64url',
      );
    return { header: { ...rec.header, kid, alg }, encrypted_key: rec.encrypted_key };
  });
  return {
    protected: r.string('protected', { pattern: B64URL }),
    iv: r.string('iv', { pattern: B64URL }),
    ciphertext: r.string('ciphertext', { pattern: B64URL }),
    tag: r.string('tag', { pattern: B64URL }),
    aad: r.string('aad', { pattern: B64URL }),
    recipients,
  };
}

export const CONNECTION_RECORD_SCHEMA = 'portcullis.connection/v1';

/**
 * What the control plane says about a connection's credential, without the secret: its type, the
 * header it goes into (type `header`), when it was last set, and the secret sealed to the serving
 * enforcers (null when no registered enforcer serves the connection: enforcers then fail closed).
 */
export interface ConnectionRecordCredentials {
  type: CredentialType;
  header_name: string | null;
  rotated_at: string;
  jwe: ConnectionJwe | null;
}

/**
 * One connection as the control plane distributes it in the connections bucket (key = name).
 * Everything but the secret is in clear; the secret is only in `credentials.jwe`.
 */
export interface ConnectionRecord {
  schema: typeof CONNECTION_RECORD_SCHEMA;
  name: string;
  type: 'http';
  url: string;
  labels: Record<string, string>;
  credentials: ConnectionRecordCredentials | null;
  /** Increases with every change of the connection in the control plane's database. */
  revision: number;
  updated_at: string;
}

export function parseConnectionRecord(value: unknown): ConnectionRecord {
  const r = Reader.of('ConnectionRecord', value);
  r.oneOf('schema', [CONNECTION_RECORD_SCHEMA]);
  const url = r.string('url', { max: 2048 });
  const urlProblem = connectionUrlProblem(url);
  if (urlProblem) throw new ContractViolation('ConnectionRecord', 'url', urlProblem);
  const c = r.optionalObject('credentials');
  let credentials: ConnectionRecordCredentials | null = null;
  if (c) {
    const type = c.oneOf('type', CREDENTIAL_TYPES);
    const headerName = c.optionalString('header_name');
    if (type === 'header') {
      const problem =
        headerName === null
          ? 'is required for type header'
          : credentialHeaderNameProblem(headerName);
      if (problem)
        throw new ContractViolation('ConnectionRecord', 'credentials.header_name', problem);
    }
    const jwe = c.optionalObject('jwe');
    credentials = {
      type,
      header_name: type === 'header' ? headerName : null,
      rotated_at: c.timestamp('rotated_at'),
      jwe: jwe ? parseJwe(jwe) : null,
    };
  }
  return {
    schema: CONNECTION_RECORD_SCHEMA,
    name: r.string('name', { pattern: NAME_PATTERN }),
    type: r.oneOf('type', ['http']),
    url,
    labels: parseLabels(r, 'ConnectionRecord'),
    credentials,
    revision: r.integer('revision', { min: 1 }),
    updated_at: r.timestamp('updated_at'),
  };
}

function parseLabels(r: Reader, contract: string): Record<string, string> {
  const raw = r.raw('labels');
  if (!isObject(raw))
    throw new ContractViolation(contract, 'labels', 'must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string')
      throw new ContractViolation(contract, `labels.${k}`, 'must be a string');
    out[k] = v;
  }
  return out;
}

export const CONNECTION_SECRET_SCHEMA = 'portcullis.connection-secret/v1';

/**
 * The plaintext inside a {@link ConnectionJwe}. It names its connection, the URL the credential is
 * for and its rotation time again (the credential itself carries its type and header name), so a
 * decrypted secret that does not match the record around it is refused.
 *
 * `url` was added within v1: readers of the previous release ignore it, readers of this release
 * require it (a secret sealed without it is re-sealed by the control plane's reconciler).
 */
export interface ConnectionSecret {
  schema: typeof CONNECTION_SECRET_SCHEMA;
  connection: string;
  url: string;
  rotated_at: string;
  credential: ConnectionCredential;
}

export function parseConnectionSecret(value: unknown): ConnectionSecret {
  const r = Reader.of('ConnectionSecret', value);
  r.oneOf('schema', [CONNECTION_SECRET_SCHEMA]);
  return {
    schema: CONNECTION_SECRET_SCHEMA,
    connection: r.string('connection', { pattern: NAME_PATTERN }),
    url: r.string('url', { max: 2048 }),
    rotated_at: r.timestamp('rotated_at'),
    credential: parseConnectionCredential(r.raw('credential'), 'ConnectionSecret', 'credential.'),
  };
}

/** Protected-header parameter of a {@link ConnectionJwe} that holds its {@link ConnectionSealBinding}. */
export const CONNECTION_SEAL_BINDING_PARAM = 'portcullis_binding';

/**
 * The clear fields of a connection record a sealed secret belongs to: its connection, base URL,
 * credential type and (type `header`) header name. The control plane writes it into the JWE's
 * protected header (authenticated with the ciphertext); an enforcer opens a secret only when it
 * equals the binding of the record the secret came with, so a secret pasted onto a record that
 * would send it elsewhere, or in another header, is refused.
 */
export interface ConnectionSealBinding {
  connection: string;
  url: string;
  credential_type: CredentialType;
  header_name: string | null;
}

/** The binding a secret sealed for `record` must carry; null when the record has no credential. */
export function sealBindingOf(
  record: Pick<ConnectionRecord, 'name' | 'url' | 'credentials'>,
): ConnectionSealBinding | null {
  if (record.credentials === null) return null;
  return {
    connection: record.name,
    url: record.url,
    credential_type: record.credentials.type,
    header_name: record.credentials.type === 'header' ? record.credentials.header_name : null,
  };
}

/** The binding a sealed {@link ConnectionSecret} is for, from the plaintext itself. */
export function sealBindingOfSecret(secret: ConnectionSecret): ConnectionSealBinding {
  return {
    connection: secret.connection,
    url: secret.url,
    credential_type: secret.credential.type,
    header_name: secret.credential.type === 'header' ? secret.credential.name : null,
  };
}

/**
 * The binding in a JWE protected header (the decoded JSON object), or null when it is absent or
 * malformed: sealed by a control plane that did not bind, or tampered with.
 */
export function readSealBinding(protectedHeader: unknown): ConnectionSealBinding | null {
  if (!isObject(protectedHeader)) return null;
  const b = protectedHeader[CONNECTION_SEAL_BINDING_PARAM];
  if (!isObject(b)) return null;
  const { connection, url, credential_type: type, header_name: header } = b;
  if (
    typeof connection !== 'string' ||
    typeof url !== 'string' ||
    typeof type !== 'string' ||
    !(CREDENTIAL_TYPES as readonly string[]).includes(type) ||
    (header !== null && typeof header !== 'string')
  )
    return null;
  return {
    connection,
    url,
    credential_type: type as CredentialType,
    header_name: header,
  };
}

/** The binding in a {@link ConnectionJwe}'s protected header (not authenticated until decrypted). */
export function sealBindingOfJwe(jwe: ConnectionJwe): ConnectionSealBinding | null {
  try {
    return readSealBinding(JSON.parse(Buffer.from(jwe.protected, 'base64url').toString('utf8')));
  } catch {
    return null;
  }
}

/**
 * Which bound field differs (`connection`, `url`, `credential type`, `header name`), or null when
 * `bound` is `expected`. Names fields only, never values, so it can be logged.
 */
export function sealBindingMismatch(
  bound: ConnectionSealBinding,
  expected: ConnectionSealBinding,
): string | null {
  if (bound.connection !== expected.connection) return 'connection';
  if (bound.url !== expected.url) return 'url';
  if (bound.credential_type !== expected.credential_type) return 'credential type';
  if (bound.header_name !== expected.header_name) return 'header name';
  return null;
}
