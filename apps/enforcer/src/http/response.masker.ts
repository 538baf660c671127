import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { brotliDecompress, constants as zlib, inflate, gunzip, type ZlibOptions } from 'node:zlib';
import { MaskingError, type Masker, type MaskReport, type MaskSpec } from '@portcullis/masking';
import type { MaskOversize } from '../config/enforcer.config';
import {
  bodyKind,
  foreignCharset,
  hasNonUtf8Bytes,
  type BodyKind,
} from '../pipeline/body-kind.rules';

const gunzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gunzip);
const inflateAsync = promisify<Buffer, ZlibOptions, Buffer>(inflate);
const brotliAsync = promisify<Buffer, ZlibOptions, Buffer>(brotliDecompress);

/** Content codings the enforcer can undo to mask a body (it answers the caller uncoded). */
export const DECODABLE_CODINGS = 'gzip, deflate, br';

/**
 * Headers that describe the exact bytes of the upstream's body. Once the body is masked (or
 * decoded) they would be false, so they are dropped rather than passed on.
 */
const REPRESENTATION_HEADERS = [
  'content-length',
  'content-encoding',
  'etag',
  'content-md5',
  'digest',
  'content-digest',
  'repr-digest',
  'content-range',
  'accept-ranges',
];

/** Limits and behaviour of response masking, from the enforcer's guardrail config. */
export interface ResponseMaskerOptions {
  maxBytes: number;
  oversize: MaskOversize;
}

/** A masked response ready to send: the body and the headers that now describe it truly. */
export interface MaskedResponse {
  ok: true;
  body: Buffer;
  headers: OutgoingHttpHeaders;
  report: MaskReport;
  /** Bytes the upstream sent (before decoding), for the call record. */
  upstreamBytes: number;
  truncated: boolean;
}

/** Why a response could not be masked; nothing of it may reach the caller. */
export interface MaskingFailure {
  ok: false;
  message: string;
  upstreamBytes: number;
  /** Set when the upstream broke off: an upstream failure, not a masking one. */
  upstreamBrokeOff?: true;
}

/**
 * Applies a decision's `mask` obligation to an upstream response. The body is read whole (up to
 * the limit), decoded (gzip, deflate, br, stacked codings too), masked as JSON or text, and
 * returned uncoded with Content-Length recomputed and every header that described the original
 * bytes (ETag, Content-MD5, digests, ranges) dropped. Anything that cannot be masked with
 * certainty — an unknown coding, a body over the limit, field paths on a body that is not JSON,
 * a binary body — is a failure: the caller gets an error, never the unmasked bytes.
 */
export class ResponseMasker {
  constructor(
    private readonly masker: Masker,
    private readonly opts: ResponseMaskerOptions,
  ) {}

  async mask(
    res: IncomingMessage,
    spec: MaskSpec,
    hasBody: boolean,
  ): Promise<MaskedResponse | MaskingFailure> {
    const codings = contentCodings(res.headers['content-encoding']);
    if (codings === null) {
      res.destroy();
      return {
        ok: false,
        message: `cannot mask a response with Content-Encoding "${String(res.headers['content-encoding'])}"`,
        upstreamBytes: 0,
      };
    }
    const read = await readLimited(res, this.opts.maxBytes);
    if (read === 'aborted') {
      return {
        ok: false,
        message: 'upstream response broke off',
        upstreamBytes: 0,
        upstreamBrokeOff: true,
      };
    }
    const headers = maskedHeaders(res.headers);
    if (!hasBody || read.bytes === 0) {
      return {
        ok: true,
        body: Buffer.alloc(0),
        headers,
        report: EMPTY,
        upstreamBytes: 0,
        truncated: false,
      };
    }
    const truncated = read.overflow;
    if (truncated && this.opts.oversize === 'fail') {
      return {
        ok: false,
        message: `response larger than the masking limit (${this.opts.maxBytes} bytes)`,
        upstreamBytes: read.bytes,
      };
    }
    let decoded: Buffer;
    try {
      decoded = await decode(read.body, codings, this.opts.maxBytes, truncated);
    } catch (err) {
      const tooLarge =
        err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      return {
        ok: false,
        message: tooLarge
          ? `decoded response larger than the masking limit (${this.opts.maxBytes} bytes)`
          : `response body could not be decoded (${codings.join(', ')})`,
        upstreamBytes: read.bytes,
      };
    }
    const kind = bodyKind(res.headers['content-type']);
    const unreadable = unmaskableText(res.headers['content-type'], decoded);
    if (kind !== 'binary' && unreadable !== null) {
      return { ok: false, message: unreadable, upstreamBytes: read.bytes };
    }
    const masked = this.maskBody(decoded, kind, spec, truncated);
    if (!masked.ok) return { ...masked, upstreamBytes: read.bytes };
    headers['content-length'] = String(masked.body.length);
    return {
      ok: true,
      body: masked.body,
      headers,
      report: masked.report,
      upstreamBytes: read.bytes,
      truncated,
    };
  }

  private maskBody(
    body: Buffer,
    kind: BodyKind,
    spec: MaskSpec,
    truncated: boolean,
  ): { ok: true; body: Buffer; report: MaskReport } | { ok: false; message: string } {
    if (kind === 'binary') {
      return { ok: false, message: 'cannot mask a binary response (only JSON and text bodies)' };
    }
    const text = truncated ? safeCut(body.toString('utf8')) : body.toString('utf8');
    try {
      if (kind === 'json' && !truncated) {
        let value: unknown;
        try {
          value = JSON.parse(text) as unknown;
        } catch {
          value = NOT_JSON;
        }
        if (value !== NOT_JSON) {
          const out = this.masker.maskJson(value, spec);
          // Always the re-serialized value, even when nothing matched: the original bytes may
          // hold what parsing hid (a duplicate key, whose first value JSON.parse dropped).
          return { ok: true, body: Buffer.from(JSON.stringify(out.value)), report: out.report };
        }
      }
      // Field paths address JSON members; on anything else they cannot be honoured with certainty.
      if (spec.fields.length > 0) {
        return {
          ok: false,
          message: truncated
            ? 'field paths cannot be applied to a truncated response'
            : 'field paths cannot be applied to a response that is not JSON',
        };
      }
      const out = this.masker.maskText(text, spec);
      return { ok: true, body: Buffer.from(out.text), report: out.report };
    } catch (err) {
      if (err instanceof MaskingError) return { ok: false, message: err.message };
      throw err;
    }
  }
}

const NOT_JSON = Symbol('not-json');
const EMPTY: MaskReport = { fields: 0, detectors: {} };

/**
 * A cut body may end inside a value (half a card number, which no detector recognises as one).
 * Drop the trailing partial token: back to the last separator within the final 256 characters.
 */
function safeCut(text: string): string {
  const tail = text.slice(-256);
  const m = /[\s,;"'\]}]/g;
  let last = -1;
  for (let r = m.exec(tail); r !== null; r = m.exec(tail)) last = r.index;
  return last === -1
    ? text.slice(0, -tail.length)
    : text.slice(0, text.length - tail.length + last + 1);
}

/**
 * The detectors read UTF-8: a body in another charset would pass unmasked, so it is refused. A
 * caller could ask for one with Accept-Charset, so this is not an upstream's quirk but an attack
 * to close.
 */
function unmaskableText(contentType: string | undefined, body: Buffer): string | null {
  const charset = foreignCharset(contentType)?.toLowerCase();
  if (charset !== undefined) return `cannot mask a response in charset "${charset}" (only UTF-8)`;
  return hasNonUtf8Bytes(body)
    ? 'cannot mask a response that is not UTF-8 text (UTF-16/32 or NUL bytes)'
    : null;
}

/** The codings applied, in the order they were applied; null when one is unknown. */
function contentCodings(header: string | undefined): string[] | null {
  if (header === undefined) return [];
  const out: string[] = [];
  for (const raw of header.split(',')) {
    const c = raw.trim().toLowerCase();
    if (c === '' || c === 'identity') continue;
    if (c === 'gzip' || c === 'x-gzip') out.push('gzip');
    else if (c === 'deflate' || c === 'br') out.push(c);
    else return null;
  }
  return out;
}

async function decode(
  body: Buffer,
  codings: string[],
  maxBytes: number,
  partial: boolean,
): Promise<Buffer> {
  let out = body;
  // A truncated stream has no proper end: flush what decodes instead of failing on the missing tail.
  const options: ZlibOptions = {
    maxOutputLength: maxBytes,
    ...(partial ? { finishFlush: zlib.Z_SYNC_FLUSH } : {}),
  };
  const brotliOptions: ZlibOptions = {
    maxOutputLength: maxBytes,
    ...(partial ? { finishFlush: zlib.BROTLI_OPERATION_FLUSH } : {}),
  };
  for (const coding of [...codings].reverse()) {
    if (coding === 'gzip') out = await gunzipAsync(out, options);
    else if (coding === 'deflate') out = await inflateAsync(out, options);
    else out = await brotliAsync(out, brotliOptions);
  }
  return partial && out.length > maxBytes ? out.subarray(0, maxBytes) : out;
}

function maskedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...headers };
  for (const name of REPRESENTATION_HEADERS) delete out[name];
  return out;
}

/**
 * Reads at most `maxBytes` (+1 to know it was more). On overflow the upstream response is
 * destroyed at once: a 50 MB body costs the enforcer its limit in memory, never the whole body.
 */
function readLimited(
  res: IncomingMessage,
  maxBytes: number,
): Promise<{ body: Buffer; bytes: number; overflow: boolean } | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: { body: Buffer; bytes: number; overflow: boolean } | 'aborted') => {
      if (done) return;
      done = true;
      res.off('data', onData);
      resolve(v);
    };
    const onData = (chunk: Buffer) => {
      const room = maxBytes - size;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size += chunk.length;
        // Settle before destroying: destroy() emits 'aborted' synchronously.
        finish({ body: Buffer.concat(chunks, maxBytes), bytes: size, overflow: true });
        res.destroy();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    };
    res.on('data', onData);
    res.once('end', () =>
      finish({ body: Buffer.concat(chunks, size), bytes: size, overflow: false }),
    );
    res.once('error', () => finish('aborted'));
    res.once('aborted', () => finish('aborted'));
    res.once('close', () => {
      if (!res.complete) finish('aborted');
    });
  });
}
