import type { DecisionEvent } from './decision';
import { isObject, type JsonObject } from './validation';

/** Header names that carry caller credentials. They are removed before a policy sees a request. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

/**
 * Query parameters that conventionally carry bearer credentials (RFC 6750 §2.3 and common API-key
 * names). Their values are replaced by {@link REDACTED} in every recorded decision; the key stays
 * so an auditor sees that a credential was sent.
 */
export const CREDENTIAL_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'access_token',
  'id_token',
  'refresh_token',
  'client_secret',
  'api_key',
  'apikey',
  'password',
]);

export const REDACTED = '[REDACTED]';

/**
 * Defence in depth for the decision log: removes credential headers from every `headers` object,
 * redacts credential query parameters in every `query` object anywhere in the event's input, and
 * in the recorded query string (`request.query`).
 * Enforcers call it before publishing and the control plane again before storing, because the log
 * outlives any one enforcer version. Never mutates the event passed in; returns it as is when
 * nothing needs scrubbing.
 */
export function scrubDecisionEvent(event: DecisionEvent): DecisionEvent {
  const query = event.request.query;
  const redacted = typeof query === 'string' && query !== '' ? redactQueryString(query) : query;
  const request = redacted === query ? event.request : { ...event.request, query: redacted };
  const input = event.input === null ? null : scrubObject(event.input);
  if (request === event.request && input === event.input) return event;
  return { ...event, request, input };
}

/**
 * Copy-on-write: returns `value` itself when nothing under it needs scrubbing (the common case,
 * every call), and a copy with only the changed branches rebuilt otherwise.
 */
function scrubObject(value: JsonObject): JsonObject {
  let out: JsonObject | null = null;
  for (const [key, v] of Object.entries(value)) {
    let next: unknown;
    if (key === 'headers' && isObject(v)) {
      next = v;
      for (const name of Object.keys(v)) {
        if (CREDENTIAL_HEADERS.has(name.toLowerCase())) {
          const headers: JsonObject = {};
          for (const [n, hv] of Object.entries(v)) {
            if (!CREDENTIAL_HEADERS.has(n.toLowerCase())) headers[n] = hv;
          }
          next = headers;
          break;
        }
      }
    } else if (key === 'query' && isObject(v)) {
      let query: JsonObject | null = null;
      for (const [name, qv] of Object.entries(v)) {
        const scrubbed = CREDENTIAL_QUERY_PARAMS.has(name.toLowerCase())
          ? redactValues(qv)
          : scrubValue(qv);
        if (scrubbed !== qv) query ??= { ...v };
        if (query) query[name] = scrubbed;
      }
      next = query ?? v;
    } else {
      next = scrubValue(v);
    }
    if (next !== v) {
      out ??= { ...value };
      out[key] = next;
    }
  }
  return out ?? value;
}

function redactValues(value: unknown): unknown {
  return Array.isArray(value) ? value.map(() => REDACTED) : REDACTED;
}

function scrubValue(value: unknown): unknown {
  if (isObject(value)) return scrubObject(value);
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const next = scrubValue(value[i]);
      if (next !== value[i]) {
        out ??= [...(value as unknown[])];
        out[i] = next;
      }
    }
    return out ?? value;
  }
  return value;
}

/**
 * A raw query string with the values of credential parameters ({@link CREDENTIAL_QUERY_PARAMS})
 * replaced by {@link REDACTED}, for records that keep the query as a string. Parameter names are
 * compared decoded and case-insensitively, so `Access%5Ftoken=` is caught too.
 */
export function redactQueryString(raw: string): string {
  return raw
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' ')).toLowerCase();
      } catch {
        name = rawName.toLowerCase();
      }
      return CREDENTIAL_QUERY_PARAMS.has(name) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
}
