/** What one step of a field path selects among a node's children. */
export type PathSelector =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'wildcard' };

/** One step; `descendant` steps (`..`) apply the selector at any depth below the current node. */
export interface PathSegment {
  readonly selector: PathSelector;
  readonly descendant: boolean;
}

/**
 * A compiled field path (a JSONPath subset): the source text as written and its steps from the
 * root. A path with no steps is `$` itself, the whole value.
 */
export interface FieldPath {
  readonly source: string;
  readonly segments: readonly PathSegment[];
}

export const MAX_FIELD_PATH_LENGTH = 1024;

const WILDCARD: PathSelector = Object.freeze({ kind: 'wildcard' });

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  '/': '/',
  "'": "'",
  '"': '"',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class PathSyntaxError extends Error {}

function isNameChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f || // _
    c === 0x2d || // -
    c >= 0x80
  );
}

/**
 * Parses `$`, `.name`, `['name']`/`["name"]`, `[n]`, `[*]`/`.*` and the recursive forms
 * `..name`, `..*`, `..[…]`. Filters, slices, unions, negative indices and scripts are refused
 * with a reason, never ignored: a path that silently matched less would leak what it was meant
 * to hide.
 */
export function parseFieldPath(
  source: string,
): { ok: true; path: FieldPath } | { ok: false; reason: string } {
  try {
    return { ok: true, path: Object.freeze({ source, segments: Object.freeze(parse(source)) }) };
  } catch (err) {
    if (err instanceof PathSyntaxError) return { ok: false, reason: err.message };
    throw err;
  }
}

function parse(s: string): PathSegment[] {
  if (s.length > MAX_FIELD_PATH_LENGTH) {
    throw new PathSyntaxError(`longer than ${MAX_FIELD_PATH_LENGTH} characters`);
  }
  if (s[0] !== '$') throw new PathSyntaxError('must start with "$"');
  const out: PathSegment[] = [];
  let i = 1;
  while (i < s.length) {
    const c = s[i];
    if (c === '[') {
      const [selector, next] = bracket(s, i);
      out.push({ selector, descendant: false });
      i = next;
    } else if (c === '.') {
      const descendant = s[i + 1] === '.';
      i += descendant ? 2 : 1;
      if (descendant && s[i] === '[') {
        const [selector, next] = bracket(s, i);
        out.push({ selector, descendant });
        i = next;
      } else if (s[i] === '*') {
        out.push({ selector: WILDCARD, descendant });
        i++;
      } else {
        let j = i;
        while (j < s.length && isNameChar(s.charCodeAt(j))) j++;
        if (j === i) {
          const after = descendant ? '".."' : '"."';
          throw new PathSyntaxError(
            i >= s.length
              ? `expected a name or * after ${after} at the end`
              : `expected a name or * after ${after} at position ${i}, found ${JSON.stringify(s[i])}`,
          );
        }
        out.push({ selector: { kind: 'name', name: s.slice(i, j) }, descendant });
        i = j;
      }
    } else {
      throw new PathSyntaxError(`unexpected ${JSON.stringify(c)} at position ${i}`);
    }
  }
  return out;
}

function skipSpaces(s: string, i: number): number {
  while (s[i] === ' ') i++;
  return i;
}

/** Parses `[ … ]` starting at the `[`; returns the selector and the position after `]`. */
function bracket(s: string, open: number): [PathSelector, number] {
  let i = skipSpaces(s, open + 1);
  if (i >= s.length) throw new PathSyntaxError('unterminated bracket');
  const c = s[i];
  let selector: PathSelector;
  if (c === '*') {
    selector = WILDCARD;
    i++;
  } else if (c === "'" || c === '"') {
    const [name, next] = quoted(s, i);
    selector = { kind: 'name', name };
    i = next;
  } else if (c >= '0' && c <= '9') {
    let j = i;
    while (j < s.length && s[j] >= '0' && s[j] <= '9') j++;
    const digits = s.slice(i, j);
    if (digits.length > 1 && digits[0] === '0') {
      throw new PathSyntaxError(`index ${digits} has a leading zero`);
    }
    const index = Number(digits);
    if (!Number.isSafeInteger(index)) throw new PathSyntaxError(`index ${digits} is too large`);
    selector = { kind: 'index', index };
    i = j;
  } else {
    throw new PathSyntaxError(unsupported(c) ?? `unexpected ${JSON.stringify(c)} in brackets`);
  }
  i = skipSpaces(s, i);
  if (i >= s.length) throw new PathSyntaxError('unterminated bracket');
  const close = s[i];
  if (close === ']') return [selector, i + 1];
  throw new PathSyntaxError(unsupported(close) ?? `expected "]" at position ${i}`);
}

function unsupported(c: string): string | null {
  switch (c) {
    case '?':
      return 'filters are not supported';
    case ':':
      return 'slices are not supported';
    case ',':
      return 'unions are not supported';
    case '-':
      return 'negative indices are not supported';
    case '(':
      return 'script expressions are not supported';
    default:
      return null;
  }
}

/** A quoted member name with JSON-style escapes; returns the name and the position after it. */
function quoted(s: string, open: number): [string, number] {
  const quote = s[open];
  let out = '';
  let i = open + 1;
  while (i < s.length) {
    const c = s[i];
    if (c === quote) return [out, i + 1];
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = s[i + 1];
    if (e === undefined) break;
    if (e === 'u') {
      const hex = s.slice(i + 2, i + 6);
      if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
        throw new PathSyntaxError(`invalid escape "\\u${hex}" at position ${i}`);
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 6;
      continue;
    }
    const mapped = ESCAPES[e];
    if (mapped === undefined) throw new PathSyntaxError(`invalid escape "\\${e}" at position ${i}`);
    out += mapped;
    i += 2;
  }
  throw new PathSyntaxError('unterminated string');
}
