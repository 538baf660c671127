import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DecisionCredentialScrubber } from './decision-credential.scrubber';
import { makeDecisionEvent } from './decision-event.fixture';

describe('DecisionCredentialScrubber', () => {
  it('credential headers that an enforcer let through are never stored, at any depth', () => {
    const event = makeDecisionEvent({
      input: {
        request: {
          method: 'GET',
          headers: {
            Authorization: 'Bearer eyJ.secret',
            cookie: 'sid=secret',
            accept: 'application/json',
          },
        },
        nested: [{ headers: { 'proxy-authorization': 'Basic secret', 'x-trace': '1' } }],
      },
    });
    const scrubbed = DecisionCredentialScrubber.scrub(event);
    assert.ok(!JSON.stringify(scrubbed).includes('secret'));
    assert.deepEqual(scrubbed.input, {
      request: { method: 'GET', headers: { accept: 'application/json' } },
      nested: [{ headers: { 'x-trace': '1' } }],
    });
  });

  it('leaves everything else of the event as it was, and the original untouched', () => {
    const event = makeDecisionEvent({
      input: { request: { headers: { authorization: 'Bearer x' } } },
    });
    const copy = structuredClone(event);
    const scrubbed = DecisionCredentialScrubber.scrub(event);
    assert.deepEqual(event, copy);
    assert.deepEqual({ ...scrubbed, input: null }, { ...event, input: null });
  });
});
