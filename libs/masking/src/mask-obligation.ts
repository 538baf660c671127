import { isObject } from '@portcullis/contracts';
import { DETECTORS, type DetectorName } from './detectors';
import { parseFieldPath, type FieldPath } from './field-path';
import type { MaskSpec } from './masker';
import { MASK_STRATEGIES, type MaskStrategy } from './mask-strategy';

export const MAX_MASK_FIELDS = 256;

const MASK_KEYS = ['fields', 'detectors', 'strategy'];
const WHERE = 'decision.mask';

/**
 * value = decision.mask from the policy. fields and detectors optional (default []), strategy
 * default 'redact'. Rejects unknown keys, unknown detectors/strategies, malformed paths,
 * > 256 fields, with a message naming the bad element, e.g.
 * 'decision.mask.fields[1] "$.a[" : unterminated bracket'. The spec returned is frozen.
 */
export function parseMaskObligation(
  value: unknown,
): { ok: true; spec: MaskSpec } | { ok: false; message: string } {
  if (!isObject(value)) return fail(`${WHERE} must be an object, got ${kindOf(value)}`);
  for (const key of Object.keys(value)) {
    if (!MASK_KEYS.includes(key)) {
      return fail(
        `${WHERE}: unknown key ${JSON.stringify(key)} (allowed: ${MASK_KEYS.join(', ')})`,
      );
    }
  }

  const fields: FieldPath[] = [];
  if (value.fields !== undefined) {
    if (!Array.isArray(value.fields)) {
      return fail(
        `${WHERE}.fields must be an array of JSONPath strings, got ${kindOf(value.fields)}`,
      );
    }
    if (value.fields.length > MAX_MASK_FIELDS) {
      return fail(
        `${WHERE}.fields has ${value.fields.length} paths; at most ${MAX_MASK_FIELDS} are allowed`,
      );
    }
    for (const [i, raw] of (value.fields as unknown[]).entries()) {
      if (typeof raw !== 'string') {
        return fail(`${WHERE}.fields[${i}] must be a string, got ${kindOf(raw)}`);
      }
      const parsed = parseFieldPath(raw);
      if (!parsed.ok) return fail(`${WHERE}.fields[${i}] ${quote(raw)} : ${parsed.reason}`);
      fields.push(parsed.path);
    }
  }

  const detectors: DetectorName[] = [];
  if (value.detectors !== undefined) {
    const parsed = parseDetectorList(value.detectors, `${WHERE}.detectors`, false);
    if (!parsed.ok) return parsed;
    detectors.push(...parsed.detectors);
  }

  let strategy: MaskStrategy = 'redact';
  if (value.strategy !== undefined) {
    const parsed = parseStrategy(value.strategy, `${WHERE}.strategy`);
    if (!parsed.ok) return parsed;
    strategy = parsed.strategy;
  }

  return {
    ok: true,
    spec: Object.freeze({
      fields: Object.freeze(fields),
      detectors: Object.freeze(detectors),
      strategy,
    }),
  };
}

/** A list of detector names; duplicates collapse (a Rego set never has them anyway). */
export function parseDetectorList(
  value: unknown,
  where: string,
  nonEmpty: boolean,
): { ok: true; detectors: DetectorName[] } | { ok: false; message: string } {
  if (!Array.isArray(value)) {
    return fail(`${where} must be an array of detector names, got ${kindOf(value)}`);
  }
  if (nonEmpty && value.length === 0) return fail(`${where} must name at least one detector`);
  const out: DetectorName[] = [];
  for (const [i, raw] of (value as unknown[]).entries()) {
    if (typeof raw !== 'string' || !(DETECTORS as readonly string[]).includes(raw)) {
      const shown = typeof raw === 'string' ? quote(raw) : kindOf(raw);
      return fail(`${where}[${i}] ${shown} : unknown detector (known: ${DETECTORS.join(', ')})`);
    }
    if (!out.includes(raw as DetectorName)) out.push(raw as DetectorName);
  }
  return { ok: true, detectors: out };
}

export function parseStrategy(
  value: unknown,
  where: string,
): { ok: true; strategy: MaskStrategy } | { ok: false; message: string } {
  if (typeof value !== 'string' || !(MASK_STRATEGIES as readonly string[]).includes(value)) {
    const shown = typeof value === 'string' ? quote(value) : kindOf(value);
    return fail(`${where} ${shown} : unknown strategy (known: ${MASK_STRATEGIES.join(', ')})`);
  }
  return { ok: true, strategy: value as MaskStrategy };
}

function fail(message: string): { ok: false; message: string } {
  return { ok: false, message };
}

/** Quotes policy text for a message, cut short so a huge value cannot flood a log line. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}

export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
