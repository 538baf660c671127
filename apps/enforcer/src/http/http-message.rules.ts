import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { CREDENTIAL_HEADERS } from '@portcullis/contracts';
import type { InjectedCredential } from '../connections/connection.types';
import { foreignCharset } from '../pipeline/body-kind.rules';

/** Methods the enforcer forwards; others (TRACE, CONNECT, WebDAV …) are refused with 405. */
export const ALLOWED_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the legacy ones proxies also drop. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
]);

/**
 * Forwarding metadata a caller could forge. The enforcer is the first hop the upstream trusts, so
 * it drops whatever the caller sent and writes its own X-Forwarded-For/-Proto: appending to a
 * caller-supplied chain would let the caller choose the "client address" the upstream reads.
 */
const FORWARDING: ReadonlySet<string> = new Set([
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-cluster-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** The parts of a parsed request the ambiguity rules look at (node's IncomingMessage fits). */
export interface RequestHead {
  method?: string;
  url?: string;
  httpVersion: string;
  rawHeaders: string[];
}

export type HeadCheck =
  { ok: true; target: string } | { ok: false; status: 400 | 405; reason: string };

/**
 * Rejects requests that two HTTP implementations could read differently (the root of request
 * smuggling and routing confusion): duplicate Host or Content-Length, Transfer-Encoding on
 * HTTP/1.0 or together with Content-Length or with a coding other than chunked, an absolute-form
 * target whose authority disagrees with Host, and unknown methods. Returns the origin-form target.
 */
export function checkRequestHead(head: RequestHead): HeadCheck {
  const method = head.method ?? '';
  if (!ALLOWED_METHODS.has(method))
    return { ok: false, status: 405, reason: `method ${method || '(none)'} is not allowed` };
  // One pass over the raw headers: node's parsed ones would hide the duplicates looked for here.
  const host: string[] = [];
  const te: string[] = [];
  let contentLengths = 0;
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'host') host.push(raw[i + 1]);
    else if (name === 'transfer-encoding') te.push(raw[i + 1]);
    else if (name === 'content-length') contentLengths++;
  }
  if (host.length > 1) return { ok: false, status: 400, reason: 'more than one Host header' };
  // Checked here rather than by node (requireHostHeader), so the refusal is a recorded decision.
  if (head.httpVersion !== '1.0' && host.length === 0)
    return { ok: false, status: 400, reason: 'HTTP/1.1 request without a Host header' };
  if (contentLengths > 1)
    return { ok: false, status: 400, reason: 'more than one Content-Length header' };
  if (te.length > 0) {
    if (head.httpVersion === '1.0')
      return { ok: false, status: 400, reason: 'Transfer-Encoding is not allowed on HTTP/1.0' };
    if (contentLengths > 0) {
      return { ok: false, status: 400, reason: 'Transfer-Encoding and Content-Length together' };
    }
    if (te.length > 1 || te[0].trim().toLowerCase() !== 'chunked') {
      return { ok: false, status: 400, reason: 'Transfer-Encoding other than a single "chunked"' };
    }
  }
  const url = head.url ?? '';
  if (url.startsWith('/')) return { ok: true, target: url };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, status: 400, reason: 'absolute-form request target is not a URL' };
    }
    if (parsed.username !== '' || parsed.password !== '') {
      return { ok: false, status: 400, reason: 'request target must not carry userinfo' };
    }
    if (host.length === 0 || host[0].toLowerCase() !== parsed.host.toLowerCase()) {
      return {
        ok: false,
        status: 400,
        reason: 'absolute-form request target disagrees with the Host header',
      };
    }
    // Recover the target exactly as sent: URL parsing would already have normalized it.
    const afterAuthority = url.slice(url.indexOf('//') + 2);
    const slash = afterAuthority.search(/[/?]/);
    const rest = slash === -1 ? '/' : afterAuthority.slice(slash);
    return { ok: true, target: rest.startsWith('?') ? `/${rest}` : rest };
  }
  return {
    ok: false,
    status: 400,
    reason: 'request target must be origin-form (/path) or absolute-form',
  };
}

/**
 * Why a request body cannot be judged as sent, or null. The policy, the fingerprint and the
 * log all read the body as it arrives: a compressed body would be an opaque string to them and
 * still be inflated by the upstream (card numbers past the guard), and a body in a charset other
 * than UTF-8 would slip past every detector. Both are refused (415) rather than guessed at.
 */
export function unsupportedRequestBody(headers: IncomingHttpHeaders): string | null {
  const coding = headers['content-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
    return 'request bodies with a Content-Encoding are not accepted; send them uncompressed';
  }
  const charset = foreignCharset(headers['content-type']);
  return charset === null ? null : `request bodies must be UTF-8 (got charset "${charset}")`;
}

/** Every value of a header as sent, duplicates included (node's parsed headers drop some). */
export function headerValues(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name) out.push(raw[i + 1]);
  return out;
}

/** Names a Connection header lists, which are hop-by-hop for this message only. */
function connectionNamed(connectionValues: string[]): Set<string> {
  const names = new Set<string>();
  for (const v of connectionValues)
    for (const n of v.split(',')) if (n.trim() !== '') names.add(n.trim().toLowerCase());
  return names;
}

/** Authorization, Cookie and the like, or the connection's own credential header. */
function isCredential(name: string, credentialHeader: string | null): boolean {
  // CGI-style servers read `X_Api_Key` as `X-Api-Key`: compare credential names that way too.
  const dashed = name.includes('_') ? name.replace(/_/g, '-') : name;
  return dashed === credentialHeader || CREDENTIAL_HEADERS.has(dashed);
}

function dropped(name: string, named: Set<string>): boolean {
  return (
    // Addressed to the enforcer (JIT approval), never to the upstream or the policy.
    name === 'portcullis-approval' ||
    HOP_BY_HOP.has(name) ||
    named.has(name) ||
    name.startsWith('proxy-') ||
    name.startsWith('x-portcullis-') ||
    name.startsWith('x-forwarded-') ||
    FORWARDING.has(name)
  );
}

/**
 * What a refused call's decision event records as its path: the target without its query, which
 * may carry credentials (`?access_token=…`) that no scrubber sees in an unparsed string.
 */
export function summaryPath(target: string): string {
  const q = target.search(/[?#]/);
  return (q === -1 ? target : target.slice(0, q)).slice(0, 8192);
}

/**
 * The caller's headers split once per call. `kept`: those that may travel on, in order, names
 * lower-cased: without hop-by-hop headers (and those Connection names), credentials, forwarding
 * metadata or the enforcer's own `x-portcullis-*` namespace; the policy's view and the
 * upstream's are both derived from it, so they cannot disagree about what was dropped. Header
 * names are caller-chosen (`__proto__`, `constructor`), so they stay in a Map, never
 * plain-object keys. `erased`: the credential headers the caller sent (lower-cased, each once,
 * in order), Authorization, Cookie and the like plus the connection's own credential header,
 * which the decision event lists as erased; their values are never kept anywhere.
 */
export function keptHeaders(
  raw: string[],
  credentialHeader: string | null = null,
): { kept: Map<string, string[]>; erased: string[] } {
  const named = connectionNamed(headerValues(raw, 'connection'));
  const kept = new Map<string, string[]>();
  const erased: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (isCredential(name, credentialHeader)) {
      if (!erased.includes(name)) erased.push(name);
      continue;
    }
    if (dropped(name, named)) continue;
    const values = kept.get(name);
    if (values) values.push(raw[i + 1]);
    else kept.set(name, [raw[i + 1]]);
  }
  return { kept, erased };
}

/** Headers the policy sees: the kept headers, repeated ones joined with ", ". */
export function policyHeaders(kept: Map<string, string[]>): Record<string, string> {
  const out = new Map<string, string>();
  for (const [name, values] of kept) out.set(name, values.join(', '));
  return Object.fromEntries(out);
}

/**
 * What the enforcer itself adds to a forwarded request: the upstream Host, the caller's socket
 * address, the decision id and the body length (null when there is no body).
 */
export interface ForwardContext {
  upstreamHost: string;
  sourceIp: string;
  decisionId: string;
  bodyLength: number | null;
  /** The connection's credential, injected by the enforcer (the caller never holds it). */
  credentials: InjectedCredential | null;
  /**
   * Set when the response will be masked: replaces the caller's Accept-Encoding with the codings
   * the enforcer can undo, and drops Range/If-Range, because only a whole body can be masked.
   */
  acceptEncoding?: string;
  /**
   * Set when the response body must be searched for the injected credential and is not masked:
   * asks for an uncoded body in the default charset, so the search sees the bytes as sent.
   */
  plainBody?: boolean;
}

/**
 * Headers sent upstream: the caller's, minus hop-by-hop headers, credentials, `x-portcullis-*`,
 * forwarding metadata (`Forwarded`, `X-Forwarded-*`, `X-Real-IP` …), Host and Content-Length
 * (both recomputed), plus X-Forwarded-For (overwritten with the caller's socket address, never
 * appended to), X-Forwarded-Proto and the decision id. The upstream receives no caller
 * credentials; it trusts the enforcer instead.
 */
export function upstreamHeaders(
  kept: Map<string, string[]>,
  ctx: ForwardContext,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  for (const [name, values] of kept) {
    // Expect: the body is already buffered and sent whole, so 100-continue has no meaning upstream.
    if (name === 'host' || name === 'content-length' || name === 'expect') continue;
    headers[name] = values.length === 1 ? values[0] : values;
  }
  headers['x-forwarded-for'] = ctx.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers.host = ctx.upstreamHost;
  headers['x-portcullis-decision-id'] = ctx.decisionId;
  if (ctx.bodyLength !== null) headers['content-length'] = String(ctx.bodyLength);
  if (ctx.acceptEncoding !== undefined) {
    headers['accept-encoding'] = ctx.acceptEncoding;
    delete headers.range;
    delete headers['if-range'];
    // The detectors read UTF-8; a caller must not be able to ask for a charset they cannot read.
    delete headers['accept-charset'];
  } else if (ctx.plainBody) {
    headers['accept-encoding'] = 'identity';
    delete headers['accept-charset'];
  }
  const c = ctx.credentials;
  if (c?.type === 'bearer') headers.authorization = `Bearer ${c.token}`;
  else if (c?.type === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  } else if (c?.type === 'header') headers[c.name.toLowerCase()] = c.value;
  return headers;
}

/** Upstream response headers returned to the caller, minus hop-by-hop ones. */
export function responseHeaders(
  headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  decisionId: string,
): OutgoingHttpHeaders {
  const named = connectionNamed(typeof headers.connection === 'string' ? [headers.connection] : []);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (
      value === undefined ||
      HOP_BY_HOP.has(name) ||
      named.has(name) ||
      name.startsWith('x-portcullis-')
    )
      continue;
    out[name] = value;
  }
  out['x-portcullis-decision-id'] = decisionId;
  return out;
}
