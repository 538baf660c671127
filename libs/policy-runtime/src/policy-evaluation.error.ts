/**
 * Stable codes for why a policy could not be loaded or evaluated. They are safe to put in logs,
 * metrics labels and decision events: messages never contain input values.
 */
export const POLICY_ERROR_CODES = [
  'invalid_module', // the bytes are not an OPA WASM module this SDK can instantiate
  'missing_entrypoint', // the module was not built with `-e portcullis/decision` (or the entrypoint evaluate named)
  'missing_builtin', // the module imports a builtin neither the SDK nor the runtime provides
  'invalid_input', // the input (or data) cannot be serialized to JSON
  'data_too_large', // the bundle's data exceeds LoadPolicyOptions.maxDataBytes
  'memory_exhausted', // evaluation needed more WASM memory than the configured maximum
  'builtin_error', // a builtin failed and strict builtin errors are on
  'evaluation_aborted', // the module aborted or trapped (e.g. conflicting rule values)
] as const;
export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];

/**
 * A policy could not be loaded or evaluated. `code` is stable and meant for programs (the enforcer
 * maps every code to outcome `error`); `message` is for operators and never contains input values
 * or credentials, only OPA's own diagnostic (e.g. "var assignment conflict").
 */
export class PolicyEvaluationError extends Error {
  override readonly name = 'PolicyEvaluationError';

  constructor(
    readonly code: PolicyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
