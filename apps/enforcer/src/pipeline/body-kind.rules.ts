/** How the enforcer can treat a body for masking and recording, from its Content-Type. */
export type BodyKind = 'json' | 'text' | 'binary';

const TEXT_TYPES: ReadonlySet<string> = new Set([
  '',
  'application/xml',
  'application/x-www-form-urlencoded',
  'application/javascript',
  'application/x-ndjson',
  'application/csv',
]);

/**
 * JSON (`application/json`, `*+json`) is masked member by member; text types are scanned by the
 * detectors; anything else is binary, which masking cannot vouch for. A missing Content-Type is
 * treated as text, so its bytes are scanned rather than waved through.
 */
export function bodyKind(contentType: string | undefined): BodyKind {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(type)) return 'json';
  if (TEXT_TYPES.has(type) || type.startsWith('text/') || type.endsWith('+xml')) return 'text';
  return 'binary';
}

/**
 * The charset a Content-Type declares when it is not one the detectors read (UTF-8 or its ASCII
 * subset), as sent; null when none is declared or it is readable. Text in another charset slips
 * past every detector (UTF-16 has a NUL in every ASCII character, so no pattern matches).
 */
export function foreignCharset(contentType: string | undefined): string | null {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  return charset === undefined || /^(utf-?8|us-ascii|ascii)$/i.test(charset) ? null : charset;
}

/**
 * Whether bytes are not UTF-8 text whatever the Content-Type says: a UTF-16/32 byte-order mark
 * (never valid UTF-8) or a NUL byte.
 */
export function hasNonUtf8Bytes(body: Buffer): boolean {
  const bom = body.length >= 2 ? body.readUInt16BE(0) : 0;
  return bom === 0xfeff || bom === 0xfffe || body.includes(0);
}
