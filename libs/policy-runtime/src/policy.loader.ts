import {
  loadPolicy as loadOpaPolicy,
  type LoadedPolicy as OpaLoadedPolicy,
} from '@open-policy-agent/opa-wasm';
import { hostBuiltins, SDK_BUILTINS, type EvaluationClock } from './host.builtins';
import { PolicyEvaluationError, type PolicyErrorCode } from './policy-evaluation.error';

/** The entrypoint every Portcullis bundle is built with (`opa build -t wasm -e portcullis/decision`). */
export const DECISION_ENTRYPOINT = 'portcullis/decision';

/** Tuning for one loaded policy. Defaults suit a gateway: small start, hard ceiling. */
export interface LoadPolicyOptions {
  /** Initial WASM memory in 64 KiB pages (default 32 = 2 MiB). */
  initialMemoryPages?: number;
  /**
   * Ceiling in 64 KiB pages (default 2048 = 128 MiB). An evaluation that needs more fails with
   * code `memory_exhausted` instead of growing the process without bound.
   */
  maxMemoryPages?: number;
  /** OPA's --strict-builtin-errors: a failing builtin aborts evaluation instead of being undefined. */
  strictBuiltinErrors?: boolean;
}

/** Per-call options for LoadedPolicy.evaluate. */
export interface EvaluateOptions {
  /**
   * The instant `time.now_ns()` returns during this evaluation, in nanoseconds since the epoch.
   * Pass `input.context.time_ns` so that the policy's clock and the input agree and a recorded
   * decision can be replayed; defaults to the wall clock at the start of the evaluation.
   */
  nowNs?: bigint | number;
}

/**
 * One instantiated policy (its own WASM instance and memory). `evaluate` is synchronous and not
 * re-entrant; it returns the value of `data.portcullis.decision` for the input, or `undefined`
 * when that rule is undefined, and throws PolicyEvaluationError (never anything else) when the
 * evaluation fails. Instances are independent: hot swap is replacing one reference with another.
 */
export interface LoadedPolicy {
  evaluate(input: unknown, options?: EvaluateOptions): unknown;
  /** Builtins the module imports from the host (each one is provided, or loading would have failed). */
  readonly hostBuiltins: readonly string[];
}

class WasmPolicy implements LoadedPolicy {
  constructor(
    private readonly policy: OpaLoadedPolicy,
    private readonly entrypoint: number,
    private readonly clock: EvaluationClock,
    readonly hostBuiltins: readonly string[],
  ) {}

  evaluate(input: unknown, options?: EvaluateOptions): unknown {
    this.clock.nowNs =
      options?.nowNs !== undefined ? toNs(options.nowNs) : BigInt(Date.now()) * 1_000_000n;
    let serialized: ArrayBuffer | undefined;
    try {
      // Serialize here so that a bad input is told apart from a failing policy.
      serialized = input === undefined ? undefined : toJsonBuffer(input);
    } catch {
      throw new PolicyEvaluationError('invalid_input', 'input is not serializable to JSON');
    }
    let resultSet: unknown;
    try {
      resultSet = this.policy.evaluate(serialized, this.entrypoint);
    } catch (err) {
      throw asPolicyError(err);
    }
    if (!Array.isArray(resultSet) || resultSet.length === 0) return undefined;
    const first: unknown = resultSet[0];
    return typeof first === 'object' && first !== null && 'result' in first
      ? first.result
      : undefined;
  }
}

function toNs(v: bigint | number): bigint {
  return typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
}

function toJsonBuffer(value: unknown): ArrayBuffer {
  const text = JSON.stringify(value) as string | undefined;
  // JSON.stringify returns undefined for functions and symbols; treat those like cycles and BigInts.
  if (text === undefined) throw new TypeError('value is not representable as JSON');
  const bytes = new TextEncoder().encode(text);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/** opa-wasm throws strings (opa_abort), plain objects and JS errors; give them one typed shape. */
function asPolicyError(err: unknown): PolicyEvaluationError {
  if (err instanceof PolicyEvaluationError) return err;
  if (err instanceof RangeError && /memory/i.test(err.message)) {
    return new PolicyEvaluationError(
      'memory_exhausted',
      'policy evaluation exceeded the WASM memory limit',
    );
  }
  const message = describe(err);
  if (/out of memory|memory access out of bounds|malloc/i.test(message)) {
    return new PolicyEvaluationError(
      'memory_exhausted',
      `policy evaluation ran out of WASM memory: ${message}`,
    );
  }
  if (/not implemented: built-in function/.test(message))
    return new PolicyEvaluationError('missing_builtin', message);
  return new PolicyEvaluationError('evaluation_aborted', `policy evaluation aborted: ${message}`);
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (
    typeof err === 'object' &&
    err !== null &&
    'message' in err &&
    typeof err.message === 'string'
  )
    return err.message;
  return 'unknown error';
}

function loadError(code: PolicyErrorCode, message: string): PolicyEvaluationError {
  return new PolicyEvaluationError(code, message);
}

/** Builtins the module expects the host to provide, from its exported `builtins` table. */
function importedBuiltins(policy: OpaLoadedPolicy): string[] {
  // The SDK's typings name WebAssembly types this (DOM-less) program does not declare.
  const internals = policy as unknown as {
    mem: { buffer: ArrayBuffer };
    wasmInstance: { exports: Record<string, unknown> };
  };
  const exports = internals.wasmInstance.exports;
  const builtins = exports.builtins;
  const dump = exports.opa_json_dump;
  if (typeof builtins !== 'function' || typeof dump !== 'function') return [];
  const addr = (dump as (a: number) => number)((builtins as () => number)());
  const buf = new Uint8Array(internals.mem.buffer);
  let end = addr;
  while (buf[end] !== 0) end++;
  const table = JSON.parse(new TextDecoder().decode(buf.subarray(addr, end))) as Record<
    string,
    number
  >;
  return Object.keys(table).sort();
}

/**
 * Instantiates an OPA-compiled WASM module (`policy.wasm` of `opa build -t wasm -e
 * portcullis/decision`) with `data` as its base document, the SDK's builtins and ours. Rejects
 * with PolicyEvaluationError: `invalid_module`, `missing_entrypoint`, `missing_builtin` (checked
 * now, so a module that could only fail at evaluation never becomes active) or `invalid_input`
 * (data not serializable).
 */
export async function loadPolicy(
  wasm: Uint8Array,
  data: unknown,
  options: LoadPolicyOptions = {},
): Promise<LoadedPolicy> {
  const initial = options.initialMemoryPages ?? 32;
  const maximum = Math.max(options.maxMemoryPages ?? 2048, initial);
  const clock: EvaluationClock = { nowNs: 0n };
  const provided = hostBuiltins(clock, options.strictBuiltinErrors ?? false);
  let policy: OpaLoadedPolicy;
  try {
    // Copy into a fresh ArrayBuffer: the caller's view may be a slice of a larger (or shared) buffer.
    policy = await loadOpaPolicy(new Uint8Array(wasm).buffer, { initial, maximum }, provided);
  } catch (err) {
    throw loadError('invalid_module', `cannot instantiate policy module: ${describe(err)}`);
  }
  const entrypoints = policy.entrypoints as Record<string, number>;
  const entrypoint = entrypoints[DECISION_ENTRYPOINT];
  if (entrypoint === undefined) {
    throw loadError(
      'missing_entrypoint',
      `policy module has no entrypoint ${DECISION_ENTRYPOINT} (found: ${Object.keys(entrypoints).join(', ') || 'none'})`,
    );
  }
  const imported = importedBuiltins(policy);
  const missing = imported.filter((name) => !SDK_BUILTINS.includes(name) && !(name in provided));
  if (missing.length > 0) {
    throw loadError(
      'missing_builtin',
      `policy needs builtins this enforcer does not provide: ${missing.join(', ')}`,
    );
  }
  try {
    policy.setData(toJsonBuffer(data ?? {}));
  } catch (err) {
    if (err instanceof TypeError)
      throw loadError('invalid_input', 'policy data is not serializable to JSON');
    throw asPolicyError(err);
  }
  return new WasmPolicy(policy, entrypoint, clock, imported);
}
