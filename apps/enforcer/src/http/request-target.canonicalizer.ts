/**
 * Canonical form of an HTTP request target. The policy evaluates `path` and the upstream
 * receives exactly `path` (after the connection's base path) and `rawQuery`: one form, computed
 * once, so a policy rule on `/customers/42` cannot be sidestepped by another spelling of it.
 */
export interface CanonicalTarget {
  ok: true;
  /** First path segment: the connection the caller addresses ('' when there is none). */
  connection: string;
  /** The rest of the path, always starting with '/', in canonical percent-encoding. */
  path: string;
  /** Query string as received (validated, without '?'), or null when absent. */
  rawQuery: string | null;
  /** The query as the policy sees it: each name mapped to all its values, in order. */
  query: Record<string, string[]>;
}

/**
 * A request target that cannot be canonicalized unambiguously; `reason` is caller-safe and never
 * echoes the target.
 */
export interface TargetRejection {
  ok: false;
  reason: string;
}

// RFC 3986 pchar plus '/' and '%', except ';': anything else (space, backslash, quotes, controls,
// non-ASCII) is refused. A raw ';' is refused in the path because servlet containers and Spring
// cut "path parameters" off each segment before routing ("/admin;x/" is routed as "/admin/"), so
// the policy would judge one path and the upstream serve another; and in the query because
// servers disagree on whether it separates parameters (Go drops "a=1;b=2" outright). Encoded as
// %3B it means the same to everyone and passes.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,=:@/?%]*$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

/**
 * Canonicalizes an origin-form target (`/crm/customers/42?x=1`). Percent-encoded unreserved
 * characters are decoded and every other escape is upper-cased; anything whose meaning differs
 * between servers is rejected rather than normalized: encoded `/` or `\`, `.`/`..` segments
 * (also when spelled `%2e`), a raw `;` (path parameters, query separators), empty segments, NUL and other control
 * characters, double encoding (`%25` followed by two hex digits), fragments, and characters
 * outside RFC 3986.
 */
export function canonicalizeTarget(target: string): CanonicalTarget | TargetRejection {
  const reject = (reason: string): TargetRejection => ({ ok: false, reason });
  if (!target.startsWith('/')) return reject('request target must be an absolute path');
  if (target.includes('#')) return reject('request target must not contain a fragment');
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? null : target.slice(q + 1);

  if (!PATH_CHARS.test(rawPath)) return reject(describeBadChars(rawPath));
  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath[i];
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!HEX2.test(hex)) return reject('path has a malformed percent-encoding');
    const byte = parseInt(hex, 16);
    i += 2;
    if (byte < 0x20 || byte === 0x7f) return reject('path contains an encoded control character');
    if (byte === 0x2f) return reject('path contains an encoded slash (%2F)');
    if (byte === 0x5c) return reject('path contains an encoded backslash (%5C)');
    if (byte === 0x25 && HEX2.test(rawPath.slice(i + 1, i + 3))) {
      return reject('path is double-encoded (%25 followed by hex digits)');
    }
    decoded += isUnreserved(byte) ? String.fromCharCode(byte) : `%${hex.toUpperCase()}`;
  }

  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '.' || seg === '..') return reject('path contains a "." or ".." segment');
    if (seg === '' && i < segments.length - 1)
      return reject('path contains an empty segment ("//")');
  }
  const connection = segments[1] ?? '';
  const path = '/' + segments.slice(2).join('/');

  let query: Record<string, string[]> = {};
  if (rawQuery !== null) {
    const parsed = parseQuery(rawQuery);
    if (typeof parsed === 'string') return reject(parsed);
    query = parsed;
  }
  return { ok: true, connection, path, rawQuery, query };
}

function parseQuery(raw: string): Record<string, string[]> | string {
  if (!QUERY_CHARS.test(raw)) return `query ${describeBadChars(raw).replace(/^path /, '')}`;
  const query: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      return 'query has a malformed percent-encoding';
    }
    if (/[\u0000-\u001f\u007f]/.test(name + value))
      return 'query contains an encoded control character';
    (query[name] ??= []).push(value);
  }
  return { ...query };
}

function describeBadChars(s: string): string {
  if (/[\u0000-\u001f\u007f]/.test(s)) return 'path contains a control character';
  if (s.includes(';')) return 'path contains ";" (servers disagree on its meaning; use %3B)';
  if (s.includes('\\')) return 'path contains a backslash';
  if (s.includes(' ')) return 'path contains a space';
  if (/[^\u0000-\u007f]/.test(s)) return 'path contains non-ASCII characters (percent-encode them)';
  return 'path contains characters outside RFC 3986';
}
