import {
  ContractViolation,
  NAME_PATTERN,
  connectionUrlProblem,
  isObject,
  parseConnectionCredential,
  type ConnectionCredential,
} from '@portcullis/contracts';
import { InvalidRequestError } from '../errors/domain.error';
import { enforcerAllowListProblem } from './connection-enforcers.allow-list';

/** A connection to create, validated. */
export interface CreateConnectionInput {
  name: string;
  type: 'http';
  url: string;
  labels: Record<string, string>;
  credentials: ConnectionCredential | null;
  /** The enforcer allow-list; undefined: the configured default (CONNECTION_DEFAULT_ENFORCERS). */
  enforcers?: string[];
}

/** A change to a connection: absent fields stay; `credentials: null` removes them, an object rotates. */
export interface PatchConnectionInput {
  url?: string;
  labels?: Record<string, string>;
  credentials?: ConnectionCredential | null;
  enforcers?: string[];
}

const MAX_URL_LENGTH = 2048;
const MAX_LABELS = 64;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
const MAX_LABEL_VALUE = 256;
const CREATE_FIELDS = new Set(['name', 'type', 'url', 'labels', 'credentials', 'enforcers']);
const PATCH_FIELDS = new Set(['url', 'labels', 'credentials', 'enforcers']);
const CREDENTIAL_FIELDS: Record<string, ReadonlySet<string>> = {
  bearer: new Set(['type', 'token']),
  basic: new Set(['type', 'username', 'password']),
  header: new Set(['type', 'name', 'value']),
};

/**
 * Checks connection requests as parsed JSON and throws {@link InvalidRequestError} (400) naming
 * the field. Messages never quote a secret value.
 */
export class ConnectionRequestValidator {
  static connectionName(value: unknown, field = 'name'): string {
    if (typeof value !== 'string' || !NAME_PATTERN.test(value))
      throw new InvalidRequestError(`${field} must match ${String(NAME_PATTERN)}`);
    return value;
  }

  static create(body: unknown): CreateConnectionInput {
    const b = ConnectionRequestValidator.object(body, CREATE_FIELDS);
    if (b.type !== 'http') throw new InvalidRequestError('type must be "http"');
    const out: CreateConnectionInput = {
      name: ConnectionRequestValidator.connectionName(b.name),
      type: 'http',
      url: ConnectionRequestValidator.url(b.url),
      labels: b.labels === undefined ? {} : ConnectionRequestValidator.labels(b.labels),
      credentials:
        b.credentials === undefined || b.credentials === null
          ? null
          : ConnectionRequestValidator.credentials(b.credentials),
    };
    if (b.enforcers !== undefined)
      out.enforcers = ConnectionRequestValidator.enforcers(b.enforcers);
    return out;
  }

  static patch(body: unknown): PatchConnectionInput {
    const b = ConnectionRequestValidator.object(body, PATCH_FIELDS, ['name', 'type']);
    const out: PatchConnectionInput = {};
    if (b.url !== undefined) out.url = ConnectionRequestValidator.url(b.url);
    if (b.labels !== undefined) out.labels = ConnectionRequestValidator.labels(b.labels);
    if (b.credentials !== undefined)
      out.credentials =
        b.credentials === null ? null : ConnectionRequestValidator.credentials(b.credentials);
    if (b.enforcers !== undefined)
      out.enforcers = ConnectionRequestValidator.enforcers(b.enforcers);
    if (Object.keys(out).length === 0)
      throw new InvalidRequestError(
        'the body must change at least one of url, labels, credentials, enforcers',
      );
    return out;
  }

  private static object(
    body: unknown,
    allowed: ReadonlySet<string>,
    immutable: string[] = [],
  ): Record<string, unknown> {
    if (!isObject(body)) throw new InvalidRequestError('the body must be a JSON object');
    for (const k of Object.keys(body)) {
      if (immutable.includes(k)) throw new InvalidRequestError(`${k} cannot be changed`);
      if (!allowed.has(k)) throw new InvalidRequestError(`${k} is not a known field`);
    }
    return body;
  }

  private static url(value: unknown): string {
    if (typeof value !== 'string') throw new InvalidRequestError('url must be a string');
    if (value.length > MAX_URL_LENGTH)
      throw new InvalidRequestError(`url must be at most ${MAX_URL_LENGTH} characters`);
    const problem = connectionUrlProblem(value);
    if (problem) throw new InvalidRequestError(`url ${problem}`);
    return new URL(value).href;
  }

  private static labels(value: unknown): Record<string, string> {
    if (!isObject(value)) throw new InvalidRequestError('labels must be an object of strings');
    const entries = Object.entries(value);
    if (entries.length > MAX_LABELS)
      throw new InvalidRequestError(`labels must have at most ${MAX_LABELS} entries`);
    const out: Record<string, string> = {};
    for (const [k, v] of entries) {
      if (!LABEL_KEY.test(k))
        throw new InvalidRequestError(
          `labels key "${k.slice(0, 64)}" must match ${String(LABEL_KEY)}`,
        );
      if (typeof v !== 'string' || v.length > MAX_LABEL_VALUE)
        throw new InvalidRequestError(
          `labels.${k} must be a string of at most ${MAX_LABEL_VALUE} characters`,
        );
      out[k] = v;
    }
    return out;
  }

  /** `["*"]`, distinct enforcer ids, or `[]`; null is refused (it would be ambiguous: none or default?). */
  private static enforcers(value: unknown): string[] {
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string'))
      throw new InvalidRequestError('enforcers must be an array of enforcer ids or ["*"]');
    const bad = enforcerAllowListProblem(value);
    if (bad)
      throw new InvalidRequestError(
        `enforcers${bad.entry === null ? '' : `[${bad.entry}]`} ${bad.problem}`,
      );
    return [...value];
  }

  private static credentials(value: unknown): ConnectionCredential {
    if (!isObject(value)) throw new InvalidRequestError('credentials must be an object or null');
    const allowed = typeof value.type === 'string' ? CREDENTIAL_FIELDS[value.type] : undefined;
    if (allowed) {
      for (const k of Object.keys(value))
        if (!allowed.has(k))
          throw new InvalidRequestError(
            `credentials.${k} is not a field of a ${String(value.type)} credential`,
          );
    }
    try {
      return parseConnectionCredential(value, 'credentials', 'credentials.');
    } catch (err) {
      if (err instanceof ContractViolation)
        throw new InvalidRequestError(err.message.slice(`${err.contract}: `.length));
      throw err;
    }
  }
}
