/**
 * What a host builtin hands back to opa-wasm: a JSON-serializable value, `undefined` (the call is
 * undefined, as in OPA when a builtin fails), or an ArrayBuffer holding JSON text. The last form
 * exists because opa-wasm serializes results with JSON.stringify, which cannot write integers
 * beyond 2^53 exactly; nanosecond timestamps need all 19 digits.
 */
export type BuiltinValue = unknown;

/** A builtin rejected its operands or could not compute a result (OPA's builtin error). */
export class BuiltinError extends Error {
  override readonly name = 'BuiltinError';
}

/** JSON text for an integer, exact at any size (see BuiltinValue). */
export function exactInteger(n: bigint): ArrayBuffer {
  const bytes = new TextEncoder().encode(n.toString());
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}
