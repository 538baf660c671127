import type {
  DecisionErrorCode,
  DecisionEvent,
  JsonObject,
  Outcome,
  PolicyInput,
  Protocol,
} from '@portcullis/contracts';
import type { AuthenticationErrorCode, VerifiedIdentity } from '@portcullis/identity';

/** What the pipeline needs from a compiled policy: one synchronous evaluation that may throw. */
export interface EvaluablePolicy {
  evaluate(input: unknown, options?: { nowNs?: bigint | number }): unknown;
}

/**
 * The policy deciding calls right now, with the identity of the bundle version it came from.
 * Immutable: a swap replaces the whole object, so a call that picked one up keeps it.
 */
export interface ActivePolicy {
  bundle: string;
  version: number;
  digest: string;
  activatedAt: string;
  policy: EvaluablePolicy;
}

/** Where the pipeline reads the active policy from; `null` while none is loaded (fail closed). */
export interface PolicySource {
  readonly bundleName: string;
  current(): ActivePolicy | null;
}

/** Receives finished decision events; must return at once (publishing happens off the response path). */
export interface DecisionSink {
  enqueue(event: DecisionEvent): void;
}

/** Outcome of authenticating the caller, done by the protocol adapter (tokens travel differently per protocol). */
export type IdentityResult =
  | { ok: true; identity: VerifiedIdentity }
  | { ok: false; code: AuthenticationErrorCode; message: string };

/** The connection a call addresses, as the input document shows it. */
export interface ConnectionRef {
  name: string;
  type: Protocol;
  labels: Record<string, string>;
}

/** Facts about a call known before anything is decided; carried into its decision event. */
export interface CallMeta {
  decisionId: string;
  protocol: Protocol;
  /** process.hrtime.bigint() when the call arrived; the event's timer_total_ns starts here. */
  startNs: bigint;
  /** Wall-clock arrival time (ms since epoch); the input's context.time and the event's timestamp. */
  receivedAt: number;
  sourceIp: string;
  /** Short description for the event (`request.method`/`request.path`), e.g. HTTP method and canonical path. */
  summary: { method: string; path: string };
  /** The connection name the caller addressed, even if no such connection exists. */
  connectionName: string | null;
}

/**
 * A call as a protocol adapter hands it to the pipeline: protocol-neutral apart from `request`,
 * which becomes `input.request` verbatim (the adapter has already removed credentials).
 */
export interface PipelineRequest extends CallMeta {
  identity: IdentityResult;
  /** The resolved connection, or null when `connectionName` names none. */
  connection: ConnectionRef | null;
  request: JsonObject;
}

/**
 * The pipeline's answer. `forward` says whether the adapter passes the call on (allow, or fail-open);
 * otherwise `code` says why not and the adapter maps it to its protocol's status once, exhaustively.
 * `message` is safe to show the caller; `detail` may hold more for the decision record.
 */
export interface Decision {
  meta: CallMeta;
  outcome: Outcome;
  code: DecisionErrorCode | null;
  forward: boolean;
  failOpen: boolean;
  message: string;
  detail: string;
  reasons: string[];
  /** The decision document (obligations live here for later adapters: mask, approval …). */
  document: JsonObject | null;
  bundle: { name: string; version: number | null; digest: string | null };
  subject: string | null;
  input: PolicyInput | null;
  evalNs: number | null;
}

/** How the call finally ended at the protocol level, reported back by the adapter for the record. */
export interface CallCompletion {
  status: number;
  /** Set when an allowed call still failed (upstream unreachable, timed out, broke off). */
  error?: { code: Extract<DecisionErrorCode, 'upstream_failed'>; message: string };
}
