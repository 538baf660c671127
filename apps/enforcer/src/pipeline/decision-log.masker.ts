import { parseDecisionEvent, type DecisionEvent, type JsonObject } from '@portcullis/contracts';
import {
  DETECTORS,
  applyLogMask,
  parseLogMaskRules,
  type LogMaskRule,
  type Masker,
} from '@portcullis/masking';
import { errorMessage, type Logger } from '@portcullis/platform';
import { LOG_MASK_ENTRYPOINT } from '@portcullis/policy-runtime';
import type { EnforcerMetrics } from '../metrics/enforcer.metrics';
import type { Decision } from './decision.types';

/**
 * When the policy's log_mask cannot be evaluated or returns nonsense, the event still leaves, but
 * without anything a mask could have been meant to hide: every body and the decision's result.
 */
const FALLBACK_RULES: readonly LogMaskRule[] = [
  { op: 'remove', path: '/input/request/body' },
  { op: 'remove', path: '/input/request/query' },
  { op: 'remove', path: '/call/request_body' },
  { op: 'remove', path: '/call/response_body' },
];

/**
 * Without a policy `log_mask`, the log still must not become a copy of the data: every detector
 * runs over what the caller sent (body, headers, query) and the recorded bodies. A policy that
 * wants raw bodies in its log says so with a `log_mask` that returns nothing.
 */
const DEFAULT_RULES: readonly LogMaskRule[] = [
  '/input/request/body',
  '/input/request/headers',
  '/input/request/query',
  '/call/request_body',
  '/call/response_body',
].map((path) => ({ op: 'detect', path, detectors: [...DETECTORS], strategy: 'redact' }));

/**
 * Decision-log masking (OPA's `system.log.mask`): before an event leaves the enforcer, the
 * policy's optional `portcullis/log_mask` entrypoint names what to erase, replace or scan with
 * detectors, evaluated on the same input and policy version that decided the call. The event
 * lists what was erased or masked, including the credential headers the adapter removed before
 * the policy ever saw the request (Authorization, Cookie, the connection's credential header).
 */
export class DecisionLogMasker {
  constructor(
    private readonly masker: Masker,
    private readonly metrics: EnforcerMetrics,
    private readonly logger: Logger,
  ) {}

  apply(event: DecisionEvent, decision: Decision, erasedHeaders: string[]): DecisionEvent {
    const erased =
      event.input === null
        ? []
        : erasedHeaders.map((name) => `/input/request/headers/${pointerToken(name)}`);
    const rules = this.rules(decision);
    if (rules.length === 0) {
      return erased.length === 0 ? event : { ...event, log_mask: { erased, masked: [] } };
    }
    if (rules === DEFAULT_RULES && !hasDefaultTargets(event)) {
      // A call refused before any policy saw it: nothing for the detectors to read.
      return { ...event, log_mask: { erased, masked: [] } };
    }
    let out = applyLogMask(event as unknown as JsonObject, rules, this.masker);
    if (rules !== DEFAULT_RULES && rules !== FALLBACK_RULES) {
      // A policy rule may break the event's own contract (remove /call/bytes_out, upsert a
      // number into a body's data): the control plane would then refuse the whole event. Keep
      // the event, and erase instead what the rules could have been meant to hide.
      try {
        parseDecisionEvent(out.doc);
      } catch (err) {
        this.fallback(decision, `log_mask broke the event contract: ${errorMessage(err)}`);
        out = applyLogMask(event as unknown as JsonObject, FALLBACK_RULES, this.masker);
      }
    }
    return {
      ...(out.doc as unknown as DecisionEvent),
      log_mask: { erased: [...erased, ...out.report.erased], masked: out.report.masked },
    };
  }

  private rules(decision: Decision): readonly LogMaskRule[] {
    const active = decision.policy;
    if (active === null || decision.input === null) return DEFAULT_RULES;
    if (!active.policy.entrypoints?.has(LOG_MASK_ENTRYPOINT)) return DEFAULT_RULES;
    let raw: unknown;
    try {
      raw = active.policy.evaluate(decision.input, {
        nowNs: BigInt(decision.meta.receivedAt) * 1_000_000n,
        entrypoint: LOG_MASK_ENTRYPOINT,
      });
    } catch (err) {
      return this.fallback(decision, `evaluation failed: ${errorMessage(err)}`);
    }
    if (raw === undefined) return [];
    const parsed = parseLogMaskRules(raw);
    return parsed.ok ? parsed.rules : this.fallback(decision, parsed.message);
  }

  private fallback(decision: Decision, reason: string): readonly LogMaskRule[] {
    this.metrics.logMaskFailures.inc();
    this.logger.error('decision-log mask failed; bodies and query erased from the event', {
      decision_id: decision.meta.decisionId,
      reason: reason.slice(0, 512),
    });
    return FALLBACK_RULES;
  }
}

/** Whether any path the default rules scan holds something: the input or a recorded body. */
function hasDefaultTargets(event: DecisionEvent): boolean {
  return (
    event.input !== null ||
    (event.call?.request_body ?? null) !== null ||
    (event.call?.response_body ?? null) !== null
  );
}

/** RFC 6901: `~` and `/` inside a reference token are escaped. */
function pointerToken(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}
