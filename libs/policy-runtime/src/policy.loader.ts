import {
  loadPolicySync as instantiateOpaPolicy,
  type LoadedPolicy as OpaLoadedPolicy,
} from '@open-policy-agent/opa-wasm';
import { DECISION_PATH, LOG_MASK_PATH } from '@portcullis/contracts';
import { hostBuiltins, SDK_BUILTINS, type EvaluationClock } from './host.builtins';
import { PolicyEvaluationError, type PolicyErrorCode } from './policy-evaluation.error';

/** The entrypoint every Portcullis bundle is built with (`opa build -t wasm -e portcullis/decision`). */
export const DECISION_ENTRYPOINT = DECISION_PATH;

/**
 * The optional entrypoint that says what to erase or mask in a call's decision-log record. The
 * control plane builds it into the module only when the policy defines `portcullis.log_mask`;
 * check `LoadedPolicy.entrypoints` before evaluating it.
 */
export const LOG_MASK_ENTRYPOINT = LOG_MASK_PATH;

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
  /**
   * Largest `data` accepted, as JSON bytes (default 4 MiB). OPA's WASM JSON parser is superlinear
   * (measured: 4.6 MB of objects loads in 0.4 s, 9.4 MB in 2.4 s, 12 MB in 14 s and 236 MB of WASM
   * memory) and loading blocks the event loop, so bigger data is refused at once with
   * `data_too_large` instead of stalling the process and then failing on memory.
   */
  maxDataBytes?: number;
}

/** Default {@link LoadPolicyOptions.maxDataBytes}; the control plane refuses larger uploads. */
export const DEFAULT_MAX_DATA_BYTES = 4 * 1024 * 1024;

/** Per-call options for LoadedPolicy.evaluate. */
export interface EvaluateOptions {
  /**
   * The instant `time.now_ns()` returns during this evaluation, in nanoseconds since the epoch.
   * Pass `input.context.time_ns` so that the policy's clock and the input agree and a recorded
   * decision can be replayed; defaults to the wall clock at the start of the evaluation.
   */
  nowNs?: bigint | number;
  /**
   * Which of the module's entrypoints to evaluate (`"portcullis/log_mask"`, say); default
   * {@link DECISION_ENTRYPOINT}. One the module was not built with fails with
   * `missing_entrypoint`, so ask `LoadedPolicy.entrypoints` first for an optional one.
   */
  entrypoint?: string;
}

/**
 * One instantiated policy (its own WASM instance and memory). `evaluate` is synchronous and not
 * re-entrant; it returns the value of the entrypoint's rule for the input (`data.portcullis.decision`
 * unless `options.entrypoint` names another), or `undefined` when that rule is undefined, and
 * throws PolicyEvaluationError (never anything else) when the evaluation fails. Instances are
 * independent: hot swap is replacing one reference with another.
 */
export interface LoadedPolicy {
  evaluate(input: unknown, options?: EvaluateOptions): unknown;
  /**
   * The entrypoints the module was built with, as `opa build -e` names them (always including
   * {@link DECISION_ENTRYPOINT}); e.g. `policy.entrypoints.has(LOG_MASK_ENTRYPOINT)`.
   */
  readonly entrypoints: ReadonlySet<string>;
  /** Builtins the module imports from the host (each one is provided, or loading would have failed). */
  readonly hostBuiltins: readonly string[];
  /** Bytes of WASM linear memory the current instance holds (never above the configured maximum). */
  readonly memoryBytes: number;
  /** How many times a failed evaluation made this policy replace its WASM instance (see evaluate). */
  readonly instanceResets: number;
}

/**
 * Why a failed evaluation replaces the instance: OPA's WASM code keeps its C stack pointer in a
 * WASM global that is only restored on a normal return. An abort (conflict, out of memory, a
 * strict builtin error) unwinds through JavaScript and leaks that stack frame; measured with a
 * two-level function conflict, the 512th abort left the instance failing every later call with
 * "memory access out of bounds". A fresh instance from the compiled module also gives back the
 * memory an allocation bomb grew. The price is re-loading `data` once per failed evaluation.
 */
class WasmPolicy implements LoadedPolicy {
  private policy: OpaLoadedPolicy;
  private resets = 0;

  readonly entrypoints: ReadonlySet<string>;

  /** `entrypointIds` maps each entrypoint name to the module's number for it. */
  constructor(
    private readonly instantiate: () => OpaLoadedPolicy,
    private readonly entrypointIds: ReadonlyMap<string, number>,
    private readonly clock: EvaluationClock,
    readonly hostBuiltins: readonly string[],
  ) {
    this.policy = instantiate();
    this.entrypoints = new Set(entrypointIds.keys());
  }

  get memoryBytes(): number {
    return (this.policy as unknown as { mem: { buffer: ArrayBuffer } }).mem.buffer.byteLength;
  }

  get instanceResets(): number {
    return this.resets;
  }

  evaluate(input: unknown, options?: EvaluateOptions): unknown {
    const name = options?.entrypoint ?? DECISION_ENTRYPOINT;
    const entrypoint = this.entrypointIds.get(name);
    if (entrypoint === undefined) {
      // Checked before anything runs: an unknown name must not fall back to entrypoint 0.
      throw new PolicyEvaluationError(
        'missing_entrypoint',
        `policy module has no entrypoint ${name} (built with: ${[...this.entrypoints].join(', ')})`,
      );
    }
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
      resultSet = this.policy.evaluate(serialized, entrypoint);
    } catch (err) {
      const error = asPolicyError(err);
      this.replaceInstance();
      throw error;
    }
    if (!Array.isArray(resultSet) || resultSet.length === 0) return undefined;
    const first: unknown = resultSet[0];
    return typeof first === 'object' && first !== null && 'result' in first
      ? first.result
      : undefined;
  }

  private replaceInstance(): void {
    // The same module and data loaded at startup, so this cannot fail for a new reason; if it
    // somehow does, the old instance stays and the next failure tries again.
    try {
      this.policy = this.instantiate();
      this.resets++;
    } catch {
      return;
    }
  }
}

function toNs(v: bigint | number): bigint {
  return typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
}

function toJsonBuffer(value: unknown): ArrayBuffer {
  const text = JSON.stringify(value) as string | undefined;
  // JSON.stringify returns undefined for functions and symbols; treat those like cycles and BigInts.
  if (text === undefined) throw new TypeError('value is not representable as JSON');
  const bytes = utf8.encode(text);
  // encode() returns a view of a fresh buffer of exactly its size: hand that over, uncopied.
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer
    : bytes.slice().buffer;
}

const utf8 = new TextEncoder();

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
 * portcullis/decision`, optionally with more `-e` entrypoints such as `portcullis/log_mask`) with `data` as its base document, the SDK's builtins and ours. Rejects
 * with PolicyEvaluationError: `invalid_module`, `missing_entrypoint`, `missing_builtin` (checked
 * now, so a module that could only fail at evaluation never becomes active), `invalid_input`
 * (data not serializable), `data_too_large` (over `maxDataBytes`) or `memory_exhausted` (the data
 * does not fit under `maxMemoryPages`).
 */
export async function loadPolicy(
  wasm: Uint8Array,
  data: unknown,
  options: LoadPolicyOptions = {},
): Promise<LoadedPolicy> {
  const initial = options.initialMemoryPages ?? 32;
  const maximum = Math.max(options.maxMemoryPages ?? 2048, initial);
  const maxDataBytes = options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
  const clock: EvaluationClock = { nowNs: 0n };
  const provided = hostBuiltins(clock, options.strictBuiltinErrors ?? false);
  let module: WasmModule;
  try {
    // Compiled once; every instance of this policy (see WasmPolicy) is made from it.
    module = await wasmApi().compile(new Uint8Array(wasm).buffer);
  } catch (err) {
    throw loadError('invalid_module', `cannot compile policy module: ${describe(err)}`);
  }
  let dataJson: ArrayBuffer;
  try {
    dataJson = toJsonBuffer(data ?? {});
  } catch {
    throw loadError('invalid_input', 'policy data is not serializable to JSON');
  }
  if (dataJson.byteLength > maxDataBytes) {
    throw loadError(
      'data_too_large',
      `policy data is ${dataJson.byteLength} bytes of JSON; this runtime loads at most ${maxDataBytes}`,
    );
  }
  const instantiate = (): OpaLoadedPolicy => {
    try {
      return instantiateOpaPolicy(module, { initial, maximum }, provided);
    } catch (err) {
      throw loadError('invalid_module', `cannot instantiate policy module: ${describe(err)}`);
    }
  };
  const withData = (policy: OpaLoadedPolicy): OpaLoadedPolicy => {
    try {
      policy.setData(dataJson);
    } catch (err) {
      const cause = asPolicyError(err);
      if (cause.code !== 'memory_exhausted') throw cause;
      throw loadError(
        'memory_exhausted',
        `policy data (${dataJson.byteLength} bytes of JSON) does not fit in the WASM memory limit of ${(maximum * 64) / 1024} MiB`,
      );
    }
    return policy;
  };

  const first = instantiate();
  const entrypoints = first.entrypoints as Record<string, number>;
  if (entrypoints[DECISION_ENTRYPOINT] === undefined) {
    throw loadError(
      'missing_entrypoint',
      `policy module has no entrypoint ${DECISION_ENTRYPOINT} (found: ${Object.keys(entrypoints).join(', ') || 'none'})`,
    );
  }
  const imported = importedBuiltins(first);
  const missing = imported.filter((name) => !SDK_BUILTINS.includes(name) && !(name in provided));
  if (missing.length > 0) {
    throw loadError(
      'missing_builtin',
      `policy needs builtins this enforcer does not provide: ${missing.join(', ')}`,
    );
  }
  let spare: OpaLoadedPolicy | null = withData(first);
  // The first instance, already checked and loaded, is the policy's first; later ones replace it.
  const next = (): OpaLoadedPolicy => {
    const ready = spare;
    spare = null;
    return ready ?? withData(instantiate());
  };
  return new WasmPolicy(next, new Map(Object.entries(entrypoints)), clock, imported);
}

/** A compiled WebAssembly.Module (opaque here: this program's lib settings declare no WebAssembly types). */
interface WasmModule {
  readonly __brand: 'WebAssembly.Module';
}
function wasmApi(): { compile(bytes: ArrayBuffer): Promise<WasmModule> } {
  return (
    globalThis as unknown as { WebAssembly: { compile(b: ArrayBuffer): Promise<WasmModule> } }
  ).WebAssembly;
}
