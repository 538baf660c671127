import type {
  DecisionErrorCode,
  DecisionEvent,
  JsonObject,
  Outcome,
  PolicyInput,
  Protocol,
  RecordObligation,
  ApprovalObligation,
} from '@portcullis/contracts';
import type { AuthenticationErrorCode, VerifiedIdentity } from '@portcullis/identity';
import type { MaskReport, MaskSpec } from '@portcullis/masking';

/**
 * What the pipeline needs from a compiled policy: synchronous evaluations that may throw.
 * `entrypoint` defaults to portcullis/decision; `entrypoints` lists what the bundle was built with.
 */
export interface EvaluablePolicy {
  readonly entrypoints?: ReadonlySet<string>;
  evaluate(input: unknown, options?: { nowNs?: bigint | number; entrypoint?: string }): unknown;
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
  /**
   * Short description for the event (`request.method`/`request.path`/`request.query`), e.g. the
   * HTTP method, canonical path and canonical query (credential parameters redacted).
   */
  summary: { method: string; path: string; query?: string | null };
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
  /** The obligations the adapter must honour when it forwards (policy decisions only). */
  obligations: Obligations;
  /** The policy that decided, kept so decision-log masking runs against the same version. */
  policy: ActivePolicy | null;
}

/** The decision document's obligations, validated; what a forwarded call must honour. */
export interface Obligations {
  mask: MaskSpec | null;
  record: RecordObligation;
  /** A human must approve first: the call is escalated instead of forwarded or denied. */
  approval: ApprovalObligation | null;
}

/** A body as the adapter captured it for the audit record; the pipeline masks and caps it. */
export interface CapturedBody {
  /** The body, or its first bytes when `complete` is false. */
  data: Buffer;
  contentType: string | undefined;
  /** Size of the whole body. */
  bytes: number;
  complete: boolean;
  /** True when `data` is what the caller received after response masking. */
  masked: boolean;
}

/** What a call moved, reported by the adapter for the call record. */
export interface CallFacts {
  bytesIn: number;
  bytesOut: number;
  upstreamStatus: number | null;
  masked: MaskReport | null;
  requestBody: CapturedBody | null;
  responseBody: CapturedBody | null;
  /** Credential headers the adapter removed before the policy saw the request (lower-case names). */
  erasedHeaders: string[];
  /** The approval request this call created, waited for or consumed (the record links it). */
  approval?: { id: string; status: string };
}

/** How the call finally ended at the protocol level, reported back by the adapter for the record. */
export interface CallCompletion {
  status: number;
  /** Set when an allowed call still failed (upstream unreachable, timed out, broke off, unmaskable). */
  error?: {
    code: Extract<DecisionErrorCode, 'upstream_failed' | 'masking_failed'>;
    message: string;
  };
  call?: CallFacts;
}
