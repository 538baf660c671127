import type { DecisionEvent, JsonObject } from '@portcullis/contracts';
import { isObject } from '@portcullis/contracts';

/** Header names that carry caller credentials; they never leave the enforcer in an event. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * Defence in depth: adapters already remove credentials before the input is built, but the
 * event is the one thing that leaves the enforcer for long-term storage, so every `headers`
 * object anywhere in `input` is scrubbed again here. Returns a copy; the input is untouched.
 */
export function scrubCredentials(event: DecisionEvent): DecisionEvent {
  if (event.input === null) return event;
  return { ...event, input: scrubObject(event.input) };
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
    } else {
      out[key] = isObject(v) ? scrubObject(v) : v;
    }
  }
  return out;
}
