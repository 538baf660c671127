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
