import { isObject, type JsonObject } from '@portcullis/contracts';
import { DETECTION_ORDER, DETECTORS, SCANNERS, type DetectorName } from './detectors';
import type { FieldPath, PathSelector } from './field-path';
import { stringifyJson } from './json-text';
import {
  MASK_STRATEGIES,
  canonicalDetected,
  keyedHash,
  partialEmail,
  partialMask,
  type MaskStrategy,
} from './mask-strategy';
import { MaskingError } from './masking.error';

/**
 * What to mask in one response: field paths whose whole value is replaced, detectors that scan
 * every other string, and how replacements look. Build it with `parseMaskObligation`.
 */
export interface MaskSpec {
  readonly fields: readonly FieldPath[];
  readonly detectors: readonly DetectorName[];
  readonly strategy: MaskStrategy;
}

/** How many replacements a masking pass made: field-path hits, and detector hits by detector. */
export interface MaskReport {
  fields: number;
  /** Only detectors that replaced something appear. */
  detectors: Record<string, number>;
}

export const MIN_HASH_KEY_BYTES = 32;

/** `redact` output for a field-path hit. */
export const REDACTED_FIELD = '[REDACTED]';

/**
 * Applies mask specs to JSON values and text. Pure and synchronous: it never mutates its input,
 * walks JSON without recursion (depth is unbounded) and scans text in linear time. The hash key
 * makes `hash` output stable for one deployment and unguessable without the key.
 */
export class Masker {
  readonly #key: Buffer;

  constructor(hashKey: Buffer) {
    if (!Buffer.isBuffer(hashKey) || hashKey.length < MIN_HASH_KEY_BYTES) {
      throw new MaskingError(
        'invalid_key',
        `the masking hash key must be at least ${MIN_HASH_KEY_BYTES} bytes`,
      );
    }
    this.#key = Buffer.from(hashKey);
  }

  /** Field paths first, then every remaining string value scanned by the detectors. Returns a new value; never mutates the input. */
  maskJson(value: unknown, spec: MaskSpec): { value: unknown; report: MaskReport } {
    const run = new MaskRun(this.#key, spec);
    return { value: run.json(value), report: run.report() };
  }

  /** Detectors only (field paths do not apply to text). */
  maskText(text: string, spec: MaskSpec): { text: string; report: MaskReport } {
    const run = new MaskRun(this.#key, spec);
    return { text: run.text(text), report: run.report() };
  }
}

/** A step of the compiled field-path automaton; `next` is ACCEPT when the step completes a path. */
interface Step {
  readonly selector: PathSelector;
  readonly descendant: boolean;
  readonly next: number;
}

const ACCEPT = -1;
const NO_STATES: readonly number[] = [];

/**
 * All field paths compiled into one automaton: a node carries the set of steps still to match
 * below it, so every node is visited once however many paths there are.
 */
interface Program {
  readonly steps: readonly Step[];
  readonly start: readonly number[];
  /** Some path is `$`: the whole value is a hit. */
  readonly rootHit: boolean;
}

/**
 * Programs by the field list they were compiled from. Specs are parsed once per decision (or
 * once at boot, for the enforcer's defaults) and their `fields` arrays are frozen, so the array
 * itself is a sound key; without this every mask call would recompile its paths.
 */
const programs = new WeakMap<readonly FieldPath[], Program>();

function compile(fields: readonly FieldPath[]): Program {
  const cached = programs.get(fields);
  if (cached) return cached;
  const steps: Step[] = [];
  const start: number[] = [];
  let rootHit = false;
  for (const path of fields) {
    const segs = path.segments;
    if (segs.length === 0) {
      rootHit = true;
      continue;
    }
    const base = steps.length;
    start.push(base);
    segs.forEach((seg, k) =>
      steps.push({
        selector: seg.selector,
        descendant: seg.descendant,
        next: k === segs.length - 1 ? ACCEPT : base + k + 1,
      }),
    );
  }
  const program = { steps, start, rootHit };
  programs.set(fields, program);
  return program;
}

type Container = unknown[] | JsonObject;

interface Frame {
  readonly src: Container;
  readonly dst: Container;
  /** Member names for objects, null for arrays. */
  readonly keys: string[] | null;
  readonly states: readonly number[];
  next: number;
}

interface Piece {
  readonly start: number;
  readonly end: number;
  /** null: text not yet claimed by a detector. */
  readonly replacement: string | null;
}

/** One maskJson/maskText call: its compiled spec and its counters. */
class MaskRun {
  private readonly program: Program;
  private readonly detectors: readonly DetectorName[];
  private readonly strategy: MaskStrategy;
  private fields = 0;
  private readonly counts = new Map<DetectorName, number>();
  // Dedupes automaton states per step without allocating a set per node.
  private readonly seen: Int32Array;
  private generation = 0;

  constructor(
    private readonly key: Buffer,
    spec: MaskSpec,
  ) {
    if (!MASK_STRATEGIES.includes(spec.strategy)) {
      throw new MaskingError('invalid_spec', `unknown masking strategy "${String(spec.strategy)}"`);
    }
    this.strategy = spec.strategy;
    this.detectors = DETECTION_ORDER.filter((d) => spec.detectors.includes(d));
    this.program = compile(spec.fields);
    this.seen = new Int32Array(this.program.steps.length);
  }

  report(): MaskReport {
    const detectors: Record<string, number> = {};
    for (const d of DETECTORS) {
      const n = this.counts.get(d);
      if (n !== undefined) detectors[d] = n;
    }
    return { fields: this.fields, detectors };
  }

  json(root: unknown): unknown {
    if (this.program.rootHit) return this.fieldHit(root);
    const stack: Frame[] = [];
    const onPath = new Set<object>();
    const enter = (value: unknown, states: readonly number[]): unknown => {
      if (typeof value === 'string') return this.text(value);
      if (typeof value === 'number') return this.number(value);
      const isArray = Array.isArray(value);
      if (!isArray && !isObject(value)) return value;
      if (onPath.has(value)) {
        throw new MaskingError('not_json', 'value is not JSON: it contains a cycle');
      }
      onPath.add(value);
      const frame: Frame = isArray
        ? { src: value, dst: [], keys: null, states, next: 0 }
        : { src: value, dst: {}, keys: Object.keys(value), states, next: 0 };
      stack.push(frame);
      return frame.dst;
    };
    const out = enter(root, this.program.start);
    while (stack.length > 0) {
      const f = stack[stack.length - 1];
      const size = f.keys === null ? (f.src as unknown[]).length : f.keys.length;
      if (f.next >= size) {
        stack.pop();
        onPath.delete(f.src);
        continue;
      }
      const k = f.next++;
      if (f.keys === null) {
        const child = (f.src as unknown[])[k];
        const next = this.step(f.states, null, k);
        (f.dst as unknown[]).push(next === ACCEPT ? this.fieldHit(child) : enter(child, next));
      } else {
        const name = f.keys[k];
        const child = (f.src as JsonObject)[name];
        const next = this.step(f.states, name, k);
        setMember(
          f.dst as JsonObject,
          name,
          next === ACCEPT ? this.fieldHit(child) : enter(child, next),
        );
      }
    }
    return out;
  }

  /** States for a child reached by `name` (object member) or `index` (array element); ACCEPT on a hit. */
  private step(
    states: readonly number[],
    name: string | null,
    index: number,
  ): readonly number[] | typeof ACCEPT {
    if (states.length === 0) return NO_STATES;
    const gen = ++this.generation;
    const out: number[] = [];
    const add = (id: number) => {
      if (this.seen[id] !== gen) {
        this.seen[id] = gen;
        out.push(id);
      }
    };
    for (const id of states) {
      const s = this.program.steps[id];
      if (selects(s.selector, name, index)) {
        if (s.next === ACCEPT) return ACCEPT;
        add(s.next);
      }
      if (s.descendant) add(id);
    }
    return out;
  }

  private fieldHit(value: unknown): string {
    this.fields++;
    switch (this.strategy) {
      case 'redact':
        return REDACTED_FIELD;
      case 'partial':
        return partialMask(typeof value === 'string' ? value : stringifyJson(value, false));
      case 'hash': {
        const canonical = typeof value === 'string' ? value : stringifyJson(value, true);
        return `[HASH:field:${keyedHash(this.key, canonical)}]`;
      }
    }
  }

  /**
   * A JSON number is data too: `{"card": 4111111111111111}` must not slip past a detector that
   * would catch the same digits in a string. Integers are scanned as their decimal digits; a hit
   * replaces the number with the strategy's (string) output. An integer beyond 2^53 has already
   * lost digits in parsing, so its true value cannot be checked: with 13 or more digits and the
   * card detector on, it is treated as a card number rather than passed on.
   */
  private number(n: number): unknown {
    if (this.detectors.length === 0 || !Number.isInteger(n)) return n;
    const digits = Math.abs(n).toFixed(0);
    if (!Number.isSafeInteger(n)) {
      if (digits.length >= 13 && this.detectors.includes('credit_card')) {
        return this.detectorHit('credit_card', digits);
      }
      return n;
    }
    const masked = this.text(digits);
    return masked === digits ? n : masked;
  }

  /** Runs the detectors in DETECTION_ORDER, each on the text earlier ones left unclaimed. */
  text(text: string): string {
    if (this.detectors.length === 0 || text.length === 0) return text;
    let pieces: Piece[] | null = null;
    for (const d of this.detectors) {
      if (pieces === null) {
        const found = this.scan(text, 0, text.length, d, null);
        if (found !== null) pieces = found;
        continue;
      }
      const next: Piece[] = [];
      for (const p of pieces) {
        if (p.replacement !== null || this.scan(text, p.start, p.end, d, next) === null) {
          next.push(p);
        }
      }
      pieces = next;
    }
    if (pieces === null) return text;
    let out = '';
    for (const p of pieces) out += p.replacement ?? text.slice(p.start, p.end);
    return out;
  }

  /**
   * Scans `text[from, to)` with one detector. With hits, appends the range split into pieces to
   * `into` (or a new array) and returns it; without, returns null and appends nothing.
   */
  private scan(
    text: string,
    from: number,
    to: number,
    detector: DetectorName,
    into: Piece[] | null,
  ): Piece[] | null {
    let out = into;
    let cursor = from;
    SCANNERS[detector](text, from, to, (start, end) => {
      out ??= [];
      if (start > cursor) out.push({ start: cursor, end: start, replacement: null });
      out.push({ start, end, replacement: this.detectorHit(detector, text.slice(start, end)) });
      cursor = end;
    });
    if (cursor === from) return null;
    if (cursor < to) out!.push({ start: cursor, end: to, replacement: null });
    return out;
  }

  private detectorHit(detector: DetectorName, value: string): string {
    this.counts.set(detector, (this.counts.get(detector) ?? 0) + 1);
    switch (this.strategy) {
      case 'redact':
        return `[REDACTED:${detector}]`;
      case 'partial':
        return detector === 'email' ? partialEmail(value) : partialMask(value);
      case 'hash':
        return `[HASH:${detector}:${keyedHash(this.key, canonicalDetected(detector, value))}]`;
    }
  }
}

function selects(selector: PathSelector, name: string | null, index: number): boolean {
  switch (selector.kind) {
    case 'wildcard':
      return true;
    case 'name':
      return name === selector.name;
    case 'index':
      return name === null && index === selector.index;
  }
}

/** Assigns an own member; `__proto__` from JSON.parse is data, not the prototype. */
export function setMember(target: JsonObject, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[name] = value;
  }
}
