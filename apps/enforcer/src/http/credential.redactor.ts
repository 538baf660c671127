import type { OutgoingHttpHeaders } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { InjectedCredential } from '../connections/connection.types';

/**
 * Secrets shorter than this are not searched for in bodies: masking every "admin" or "1234" in
 * every response would corrupt data, and such a credential protects nothing anyway. Headers
 * carrying the credential are still dropped whatever its length.
 */
const MIN_BODY_NEEDLE = 8;

/**
 * The byte strings by which an injected credential could come back to the caller: the token,
 * password or header value, and for basic auth the base64 form the upstream received.
 */
export function credentialNeedles(credential: InjectedCredential): string[] {
  let raw: string[];
  switch (credential.type) {
    case 'bearer':
      raw = [credential.token];
      break;
    case 'header':
      raw = [credential.value];
      break;
    case 'basic':
      raw = [
        credential.password,
        Buffer.from(`${credential.username}:${credential.password}`).toString('base64'),
      ];
      break;
  }
  // An echo may come back escaped: JSON (PHP escapes "/" as "\/"), or form/URL encoded.
  const forms = new Set<string>();
  for (const secret of raw) {
    const json = JSON.stringify(secret).slice(1, -1);
    forms.add(secret).add(json).add(json.replace(/\//g, '\\/')).add(encodeURIComponent(secret));
  }
  return [...forms];
}

/**
 * Response headers minus any that carry the credential (an upstream that echoes request headers
 * back, say). The caller never holds the credential, not even by reflection.
 */
export function withoutCredentialHeaders(
  headers: OutgoingHttpHeaders,
  needles: readonly string[],
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join('\n') : String(value);
    if (needles.some((n) => n.length > 0 && text.includes(n))) continue;
    out[name] = value;
  }
  return out;
}

/** Overwrites every occurrence of a needle in `buf` with `*` of the same length (in place). */
export function redactInPlace(buf: Buffer, needles: readonly Buffer[]): number {
  let hits = 0;
  for (const n of needles) {
    for (let at = buf.indexOf(n); at !== -1; at = buf.indexOf(n, at + n.length)) {
      buf.fill(0x2a, at, at + n.length);
      hits++;
    }
  }
  return hits;
}

/** Needles worth searching bodies for, as bytes. */
export function bodyNeedles(needles: readonly string[]): Buffer[] {
  return needles.filter((n) => n.length >= MIN_BODY_NEEDLE).map((n) => Buffer.from(n));
}

/**
 * A streaming body filter that overwrites the injected credential wherever the upstream's body
 * repeats it, across chunk boundaries too (it holds back the last `longest - 1` bytes). The
 * replacement has the same length, so Content-Length stays true and nothing is re-framed.
 */
export class CredentialRedactor extends Transform {
  private tail: Buffer = Buffer.alloc(0);
  private readonly keep: number;
  hits = 0;

  constructor(private readonly needles: readonly Buffer[]) {
    super();
    this.keep = Math.max(0, ...needles.map((n) => n.length)) - 1;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // The chunk is this stream's own copy of socket bytes: overwriting it in place is safe.
    const data = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    this.hits += redactInPlace(data, this.needles);
    const emit = Math.max(0, data.length - this.keep);
    this.tail = data.subarray(emit);
    if (emit > 0) this.push(data.subarray(0, emit));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.tail.length > 0) this.push(this.tail);
    done();
  }
}
