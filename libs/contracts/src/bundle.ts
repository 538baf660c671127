import { NAME_PATTERN } from './nats';
import { Reader } from './validation';

export const BUNDLE_POINTER_SCHEMA = 'portcullis.bundle-pointer/v1';

/**
 * The active version of a bundle, as the control plane writes it to the bundle KV bucket on
 * activation. Enforcers watch the key, fetch both artifacts from the object store, check both
 * sha256 digests, and only then swap. Version numbers are per bundle, starting at 1.
 */
export interface BundlePointer {
  schema: typeof BUNDLE_POINTER_SCHEMA;
  bundle: string;
  version: number;
  /** Hex sha256 of policy.wasm: the identity of the compiled policy. */
  digest: string;
  /** Hex sha256 of data.json exactly as stored (the bundle's `data`, `{}` when none). */
  data_digest: string;
  /** Entrypoint compiled into the WASM module, always `portcullis/decision` today. */
  entrypoint: string;
  activated_at: string;
  activated_by: string;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function parseBundlePointer(value: unknown): BundlePointer {
  const r = Reader.of('BundlePointer', value);
  r.oneOf('schema', [BUNDLE_POINTER_SCHEMA]);
  return {
    schema: BUNDLE_POINTER_SCHEMA,
    bundle: r.string('bundle', { pattern: NAME_PATTERN }),
    version: r.integer('version', { min: 1 }),
    digest: r.string('digest', { pattern: HEX_SHA256 }),
    data_digest: r.string('data_digest', { pattern: HEX_SHA256 }),
    entrypoint: r.string('entrypoint', { max: 256 }),
    activated_at: r.timestamp('activated_at'),
    activated_by: r.string('activated_by', { max: 512 }),
  };
}

export const ENFORCER_STATUS_SCHEMA = 'portcullis.enforcer-status/v1';

/**
 * What an enforcer reports about itself (like OPA's status API), written to the enforcer KV
 * bucket at start, on every bundle swap and on a heartbeat.
 */
export interface EnforcerStatus {
  schema: typeof ENFORCER_STATUS_SCHEMA;
  enforcer_id: string;
  bundle: string;
  /** Active version, or null while the enforcer has no policy (it then fails closed). */
  active_version: number | null;
  active_digest: string | null;
  /** When the active version started to decide requests. */
  activated_at: string | null;
  /** Last bundle load failure, if the newest pointer could not be loaded. */
  last_error: { version: number; message: string; at: string } | null;
  started_at: string;
  reported_at: string;
}

export function parseEnforcerStatus(value: unknown): EnforcerStatus {
  const r = Reader.of('EnforcerStatus', value);
  r.oneOf('schema', [ENFORCER_STATUS_SCHEMA]);
  const err = r.optionalObject('last_error');
  return {
    schema: ENFORCER_STATUS_SCHEMA,
    enforcer_id: r.string('enforcer_id', { pattern: NAME_PATTERN }),
    bundle: r.string('bundle', { pattern: NAME_PATTERN }),
    active_version: r.optionalInteger('active_version'),
    active_digest: r.optionalString('active_digest'),
    activated_at: r.optionalString('activated_at'),
    last_error: err
      ? { version: err.integer('version'), message: err.string('message'), at: err.timestamp('at') }
      : null,
    started_at: r.timestamp('started_at'),
    reported_at: r.timestamp('reported_at'),
  };
}
