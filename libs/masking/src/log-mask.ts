import { isObject, type JsonObject } from '@portcullis/contracts';
import type { DetectorName } from './detectors';
import type { FieldPath } from './field-path';
import { kindOf, parseDetectorList, parseStrategy, quote } from './mask-obligation';
import { setMember, type Masker, type MaskSpec } from './masker';
import type { MaskStrategy } from './mask-strategy';

/**
 * One decision-log masking rule (like OPA's `system.log.mask`). `path` is an RFC 6901 JSON
 * pointer rooted at the decision event, under `/input`, `/result` or `/call`.
 */
export type LogMaskRule =
  | { op: 'remove'; path: string }
  | { op: 'upsert'; path: string; value: unknown }
  | { op: 'detect'; path: string; detectors: DetectorName[]; strategy: MaskStrategy };

export const LOG_MASK_ROOTS = ['input', 'result', 'call'] as const;
export const MAX_LOG_MASK_RULES = 1024;

const WHERE = 'log_mask';
const RULE_KEYS: Readonly<Record<LogMaskRule['op'], readonly string[]>> = {
  remove: ['op', 'path'],
  upsert: ['op', 'path', 'value'],
  detect: ['op', 'path', 'detectors', 'strategy'],
};

/**
 * value = result of the policy entrypoint portcullis/log_mask: an array (a Rego set) whose items
 * are either a string JSON pointer (= remove), or {op:"remove",path}, {op:"upsert",path,value},
 * {op:"detect",path,detectors,strategy?}. Paths are RFC 6901 JSON pointers rooted at the event
 * and must start with /input, /result or /call. Messages name the bad item and never echo an
 * upsert value.
 */
export function parseLogMaskRules(
  value: unknown,
): { ok: true; rules: LogMaskRule[] } | { ok: false; message: string } {
  if (!Array.isArray(value)) {
    return fail(`${WHERE} must be a set (JSON array) of rules, got ${kindOf(value)}`);
  }
  if (value.length > MAX_LOG_MASK_RULES) {
    return fail(`${WHERE} has ${value.length} rules; at most ${MAX_LOG_MASK_RULES} are allowed`);
  }
  const rules: LogMaskRule[] = [];
  for (const [i, item] of (value as unknown[]).entries()) {
    const where = `${WHERE}[${i}]`;
    if (typeof item === 'string') {
      const bad = checkPointer(item);
      if (bad !== null) return fail(`${where} ${quote(item)} : ${bad}`);
      rules.push({ op: 'remove', path: item });
      continue;
    }
    if (!isObject(item)) {
      return fail(`${where} must be a JSON pointer string or a rule object, got ${kindOf(item)}`);
    }
    const op = item.op;
    if (op === undefined) return fail(`${where}.op is required (remove, upsert or detect)`);
    if (op !== 'remove' && op !== 'upsert' && op !== 'detect') {
      const shown = typeof op === 'string' ? quote(op) : kindOf(op);
      return fail(`${where}.op ${shown} : must be one of remove, upsert, detect`);
    }
    for (const key of Object.keys(item)) {
      if (!RULE_KEYS[op].includes(key)) {
        return fail(
          `${where}: unknown key ${quote(key)} for op "${op}" (allowed: ${RULE_KEYS[op].join(', ')})`,
        );
      }
    }
    const path = item.path;
    if (typeof path !== 'string')
      return fail(`${where}.path must be a string, got ${kindOf(path)}`);
    const bad = checkPointer(path);
    if (bad !== null) return fail(`${where}.path ${quote(path)} : ${bad}`);
    switch (op) {
      case 'remove':
        rules.push({ op, path });
        break;
      case 'upsert':
        if (!path.includes('/', 1)) {
          return fail(
            `${where}.path ${quote(path)} : upsert needs a path below /input, /result or /call`,
          );
        }
        if (!('value' in item)) return fail(`${where}.value is required for op "upsert"`);
        rules.push({ op, path, value: item.value });
        break;
      case 'detect': {
        const detectors = parseDetectorList(item.detectors, `${where}.detectors`, true);
        if (!detectors.ok) return detectors;
        let strategy: MaskStrategy = 'redact';
        if (item.strategy !== undefined) {
          const parsed = parseStrategy(item.strategy, `${where}.strategy`);
          if (!parsed.ok) return parsed;
          strategy = parsed.strategy;
        }
        rules.push({ op, path, detectors: detectors.detectors, strategy });
        break;
      }
    }
  }
  return { ok: true, rules };
}

function fail(message: string): { ok: false; message: string } {
  return { ok: false, message };
}

/** Null when `pointer` is a valid RFC 6901 pointer under one of the roots, else the reason. */
function checkPointer(pointer: string): string | null {
  if (!pointer.startsWith('/')) return 'a JSON pointer must start with "/"';
  const tokens = decodePointer(pointer);
  if (tokens === null) return 'invalid escape: "~" must be followed by 0 or 1';
  if (!(LOG_MASK_ROOTS as readonly string[]).includes(tokens[0])) {
    return 'must start with /input, /result or /call';
  }
  return null;
}

/** RFC 6901 reference tokens, unescaped; null on a `~` not followed by 0 or 1. */
function decodePointer(pointer: string): string[] | null {
  const tokens: string[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    let token = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c !== '~') {
        token += c;
        continue;
      }
      const e = raw[i + 1];
      if (e === '0') token += '~';
      else if (e === '1') token += '/';
      else return null;
      i++;
    }
    tokens.push(token);
  }
  return tokens;
}

/** RFC 6901 array index: "0" or digits without a leading zero, within the array. */
function arrayIndex(token: string, length: number): number | null {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(token)) return null;
  const n = Number(token);
  return n < length ? n : null;
}

type Container = unknown[] | JsonObject;

function isContainer(v: unknown): v is Container {
  return Array.isArray(v) || isObject(v);
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * Returns a copy of doc with the rules applied; erased = pointers actually removed, masked =
 * pointers upserted or where a detector replaced something. Missing paths are no-ops (not
 * listed). upsert creates missing parent objects only under an existing root.
 *
 * Order does not depend on the order of the rules (a Rego set has none an author controls):
 * every `remove` first, then every `upsert`, then every `detect`. Removes resolve against the
 * document before any of them ran: removing `/input/a/0` and `/input/a/1` removes both original
 * elements. Removing a whole root (`/input`) sets it to null, as the event contract wants. Only
 * containers on a rule's path are copied; the input is never mutated.
 */
export function applyLogMask(
  doc: JsonObject,
  rules: readonly LogMaskRule[],
  masker: Masker,
): { doc: JsonObject; report: { erased: string[]; masked: string[] } } {
  const editor = new PointerEditor(doc);
  const erased: string[] = [];
  const masked: string[] = [];
  const note = (list: string[], path: string) => {
    if (!list.includes(path)) list.push(path);
  };

  const removes = rules
    .filter((r): r is Extract<LogMaskRule, { op: 'remove' }> => r.op === 'remove')
    // One pointer named twice (as a string and as {op: "remove"}) is one removal: removing an
    // array element twice would take its neighbour too.
    .filter((r, i, all) => all.findIndex((o) => o.path === r.path) === i)
    .map((r) => ({ path: r.path, tokens: decodePointer(r.path) }))
    .filter((r): r is { path: string; tokens: string[] } => r.tokens !== null)
    .sort((a, b) => compareTokens(b.tokens, a.tokens));
  for (const r of removes) if (editor.remove(r.tokens)) note(erased, r.path);

  for (const rule of rules) {
    if (rule.op !== 'upsert') continue;
    const tokens = decodePointer(rule.path);
    if (tokens === null) continue;
    const value = masker.maskJson(rule.value, NO_MASKING).value;
    if (editor.upsert(tokens, value)) note(masked, rule.path);
  }

  for (const rule of rules) {
    if (rule.op !== 'detect') continue;
    const tokens = decodePointer(rule.path);
    if (tokens === null) continue;
    const target = editor.get(tokens);
    if (target === MISSING || target === null) continue;
    const spec: MaskSpec = {
      fields: NO_FIELDS,
      detectors: rule.detectors,
      strategy: rule.strategy,
    };
    const out = masker.maskJson(target, spec);
    const hits = Object.values(out.report.detectors).reduce((a, b) => a + b, 0);
    if (hits > 0) {
      editor.replace(tokens, out.value);
      note(masked, rule.path);
    }
  }
  return { doc: editor.root, report: { erased, masked } };
}

const NO_FIELDS: readonly FieldPath[] = Object.freeze([]);

/** maskJson with nothing to mask: an iterative deep copy, so the event never aliases a rule's value. */
const NO_MASKING: MaskSpec = Object.freeze({ fields: [], detectors: [], strategy: 'redact' });

/**
 * Descending order where numeric tokens compare as numbers, so for one array higher indices are
 * removed first and lower ones still point at their original elements.
 */
const NUMERIC = /^[0-9]+$/;

function compareTokens(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (NUMERIC.test(x) && NUMERIC.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

const MISSING = Symbol('missing');

/**
 * Copy-on-write edits by JSON pointer: a container is copied the first time an edit passes
 * through it, and every later edit through it reuses that copy.
 */
class PointerEditor {
  readonly root: JsonObject;
  private readonly owned = new WeakSet<object>();

  constructor(doc: JsonObject) {
    this.root = { ...doc };
    this.owned.add(this.root);
  }

  get(tokens: readonly string[]): unknown {
    let cur: unknown = this.root;
    for (const t of tokens) {
      const next = child(cur, t);
      if (next === MISSING) return MISSING;
      cur = next;
    }
    return cur;
  }

  remove(tokens: readonly string[]): boolean {
    const parentPath = tokens.slice(0, -1);
    const last = tokens[tokens.length - 1];
    const parent = this.get(parentPath);
    if (parent === MISSING || child(parent, last) === MISSING) return false;
    if (tokens.length === 1) {
      // The event's contract keeps its roots (input and result are an object or null).
      this.root[last] = null;
      return true;
    }
    const own = this.own(parentPath)!;
    if (Array.isArray(own)) own.splice(Number(last), 1);
    else delete own[last];
    return true;
  }

  /** Sets the value, creating missing parent objects below an existing root; false when impossible. */
  upsert(tokens: readonly string[], value: unknown): boolean {
    const root = tokens[0];
    if (!hasOwn(this.root, root) || !isContainer(this.root[root])) return false;
    // Walk the existing part read-only first, so an impossible upsert copies nothing.
    let depth = 1;
    let cur: unknown = this.root[root];
    while (depth < tokens.length - 1) {
      const next = child(cur, tokens[depth]);
      if (next === MISSING) break;
      if (!isContainer(next)) return false;
      cur = next;
      depth++;
    }
    const token = tokens[depth];
    if (
      Array.isArray(cur) &&
      (depth < tokens.length - 1 || arrayIndex(token, cur.length) === null)
    ) {
      return false;
    }
    let parent = this.own(tokens.slice(0, depth))!;
    for (; depth < tokens.length - 1; depth++) {
      const created: JsonObject = {};
      this.owned.add(created);
      setMember(parent as JsonObject, tokens[depth], created);
      parent = created;
    }
    setChild(parent, tokens[tokens.length - 1], value);
    return true;
  }

  replace(tokens: readonly string[], value: unknown): void {
    const parent = this.own(tokens.slice(0, -1))!;
    setChild(parent, tokens[tokens.length - 1], value);
  }

  /** The container at `tokens`, copied into the result first if it is still the input's. */
  private own(tokens: readonly string[]): Container | null {
    let cur: Container = this.root;
    for (const t of tokens) {
      const next = child(cur, t);
      if (next === MISSING || !isContainer(next)) return null;
      let mine: Container = next;
      if (!this.owned.has(next)) {
        mine = Array.isArray(next) ? [...next] : copyObject(next);
        this.owned.add(mine);
        setChild(cur, t, mine);
      }
      cur = mine;
    }
    return cur;
  }
}

function copyObject(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(o)) setMember(out, k, o[k]);
  return out;
}

function child(cur: unknown, token: string): unknown {
  if (Array.isArray(cur)) {
    const i = arrayIndex(token, cur.length);
    return i === null ? MISSING : (cur[i] as unknown);
  }
  if (isObject(cur) && hasOwn(cur, token)) return cur[token];
  return MISSING;
}

function setChild(parent: Container, token: string, value: unknown): void {
  if (Array.isArray(parent)) parent[Number(token)] = value;
  else setMember(parent, token, value);
}
