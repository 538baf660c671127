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
 * outlives any one enforcer version. Returns a copy; the event passed in is untouched.
 */
export function scrubDecisionEvent(event: DecisionEvent): DecisionEvent {
  const query = event.request.query;
  const request =
    query === undefined || query === null || query === ''
      ? event.request
      : { ...event.request, query: redactQueryString(query) };
  if (event.input === null) return request === event.request ? event : { ...event, request };
  return { ...event, request, input: scrubObject(event.input) };
}

function scrubObject(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'headers' && isObject(v)) {
      const headers: JsonObject = {};
      for (const [name, hv] of Object.entries(v)) {
        if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) headers[name] = hv;
      }
      out[key] = headers;
    } else if (key === 'query' && isObject(v)) {
      const query: JsonObject = {};
      for (const [name, qv] of Object.entries(v)) {
        query[name] = CREDENTIAL_QUERY_PARAMS.has(name.toLowerCase())
          ? redactValues(qv)
          : scrubValue(qv);
      }
      out[key] = query;
    } else {
      out[key] = scrubValue(v);
    }
  }
  return out;
}

function redactValues(value: unknown): unknown {
  return Array.isArray(value) ? value.map(() => REDACTED) : REDACTED;
}

function scrubValue(value: unknown): unknown {
  if (isObject(value)) return scrubObject(value);
  if (Array.isArray(value)) return (value as unknown[]).map(scrubValue);
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
