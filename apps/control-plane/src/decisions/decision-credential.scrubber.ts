import { scrubDecisionEvent, type DecisionEvent } from '@portcullis/contracts';

/**
 * Defence in depth at the storage boundary. Enforcers remove credentials before they build the
 * policy input, but the decision log keeps events for a long time and accepts them from every
 * enforcer version in the fleet, so the control plane applies the contract's scrub again before
 * an event is stored.
 */
export class DecisionCredentialScrubber {
  static scrub(event: DecisionEvent): DecisionEvent {
    return scrubDecisionEvent(event);
  }
}
