import { BuiltinError, type BuiltinValue } from './builtin-value';
import { PolicyEvaluationError } from './policy-evaluation.error';
import { timeBuiltins } from './time.builtins';

/**
 * Builtins the opa-wasm SDK (1.10) implements in JavaScript (src/builtins/). The SDK dispatches to
 * them before our own, so they cannot be replaced; their semantics are the SDK's (see
 * docs/policy-authors.md, "Known WASM differences").
 */
export const SDK_BUILTINS: readonly string[] = [
  'json.is_valid',
  'regex.split',
  'sprintf',
  'yaml.is_valid',
  'yaml.marshal',
  'yaml.unmarshal',
];

/** Per-evaluation state the host builtins read: the instant `time.now_ns` returns. */
export interface EvaluationClock {
  nowNs: bigint;
}

export type HostBuiltin = (...args: unknown[]) => BuiltinValue;

/**
 * The builtins this runtime provides to OPA WASM modules, keyed by OPA name. Errors follow OPA's
 * default: a failing builtin makes its expression undefined; with `strict` it aborts the
 * evaluation with PolicyEvaluationError('builtin_error') instead (OPA's --strict-builtin-errors).
 */
export function hostBuiltins(clock: EvaluationClock, strict: boolean): Record<string, HostBuiltin> {
  const impls = timeBuiltins(() => clock.nowNs);
  const wrapped: Record<string, HostBuiltin> = {};
  for (const [name, impl] of Object.entries(impls)) {
    wrapped[name] = (...args: unknown[]) => {
      try {
        return impl(...args);
      } catch (err) {
        if (!strict) return undefined;
        const detail = err instanceof BuiltinError ? err.message : 'internal error';
        throw new PolicyEvaluationError('builtin_error', `${name}: ${detail}`);
      }
    };
  }
  return wrapped;
}

/** Names of the builtins this runtime adds to what the SDK and the WASM module itself provide. */
export const PROVIDED_BUILTINS: readonly string[] = Object.freeze(
  Object.keys(hostBuiltins({ nowNs: 0n }, false)).sort(),
);
