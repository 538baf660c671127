import { isObject } from '@portcullis/contracts';
import { MaskingError } from './masking.error';

type Task =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'leave'; readonly node: object };

/**
 * JSON text of a value without recursion, so a 100 000-level document cannot overflow the stack.
 * With `sortKeys` object members are ordered by key, which makes the text canonical: equal values
 * give equal text whatever their member order (what the hash strategy needs). Values JSON cannot
 * hold become `null` in arrays and are left out of objects, as JSON.stringify does.
 */
export function stringifyJson(value: unknown, sortKeys: boolean): string {
  const out: string[] = [];
  const onPath = new Set<object>();
  const stack: Task[] = [{ kind: 'value', value }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if (task.kind === 'text') {
      out.push(task.text);
      continue;
    }
    if (task.kind === 'leave') {
      onPath.delete(task.node);
      continue;
    }
    const v = task.value;
    if (Array.isArray(v)) {
      enter(onPath, v);
      stack.push({ kind: 'leave', node: v }, { kind: 'text', text: ']' });
      for (let k = v.length - 1; k >= 0; k--) {
        stack.push({ kind: 'value', value: v[k] as unknown });
        if (k > 0) stack.push({ kind: 'text', text: ',' });
      }
      stack.push({ kind: 'text', text: '[' });
    } else if (isObject(v)) {
      enter(onPath, v);
      const keys = Object.keys(v).filter((k) => representable(v[k]));
      if (sortKeys) keys.sort();
      stack.push({ kind: 'leave', node: v }, { kind: 'text', text: '}' });
      for (let k = keys.length - 1; k >= 0; k--) {
        const key = keys[k];
        stack.push({ kind: 'value', value: v[key] });
        stack.push({ kind: 'text', text: `${k > 0 ? ',' : ''}${JSON.stringify(key)}:` });
      }
      stack.push({ kind: 'text', text: '{' });
    } else {
      out.push(scalar(v));
    }
  }
  return out.join('');
}

function enter(onPath: Set<object>, node: object): void {
  if (onPath.has(node))
    throw new MaskingError('not_json', 'value is not JSON: it contains a cycle');
  onPath.add(node);
}

function representable(v: unknown): boolean {
  return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
}

function scalar(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'object': // null (containers never get here)
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
  }
}
