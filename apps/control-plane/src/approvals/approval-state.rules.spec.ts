import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApprovalStateRules, type ApprovalFacts } from './approval-state.rules';

const NOW = 1_700_000_000_000;
const FP = 'a'.repeat(64);
const REQ = 'c'.repeat(64);
const ISS = 'https://idp.example.com';
const row = (over: Partial<ApprovalFacts> = {}): ApprovalFacts => ({
  status: 'approved',
  expiresAtMs: NOW + 60_000,
  requesterSubject: 'svc',
  requesterIssuer: ISS,
  fingerprint: FP,
  requirement: REQ,
  consumedByDecision: null,
  ...over,
});
const attempt = {
  subject: 'svc',
  issuer: ISS,
  fingerprint: FP,
  requirement: REQ,
  decisionId: 'd-1',
};

describe('approval state rules', () => {
  it('pending and approved requests at or past their expiry are expired before any sweep', () => {
    assert.equal(
      ApprovalStateRules.effectiveStatus({ status: 'pending', expiresAtMs: NOW }, NOW),
      'expired',
    );
    assert.equal(
      ApprovalStateRules.effectiveStatus({ status: 'approved', expiresAtMs: NOW - 1 }, NOW),
      'expired',
    );
    assert.equal(
      ApprovalStateRules.effectiveStatus({ status: 'pending', expiresAtMs: NOW + 1 }, NOW),
      'pending',
    );
  });

  it('final states stay what they are after the expiry', () => {
    for (const status of ['denied', 'consumed', 'expired'])
      assert.equal(
        ApprovalStateRules.effectiveStatus({ status, expiresAtMs: NOW - 1 }, NOW),
        status,
      );
  });

  it('a refused consume says precisely why', () => {
    const refusal = (r: ApprovalFacts | null, a = attempt) =>
      ApprovalStateRules.consumeRefusal(r, a, NOW);
    assert.equal(refusal(null), 'not_found');
    assert.equal(refusal(row({ status: 'pending' })), 'not_approved');
    assert.equal(refusal(row({ status: 'denied' })), 'denied');
    assert.equal(refusal(row({ expiresAtMs: NOW })), 'expired');
    assert.equal(refusal(row({ status: 'consumed', consumedByDecision: 'd-0' })), 'already_used');
    assert.equal(
      refusal(row(), { ...attempt, fingerprint: 'b'.repeat(64) }),
      'fingerprint_mismatch',
    );
    assert.equal(refusal(row(), { ...attempt, subject: 'other' }), 'subject_mismatch');
  });

  it('the same subject from another issuer is another caller', () => {
    for (const status of ['pending', 'approved', 'consumed'])
      assert.equal(
        ApprovalStateRules.consumeRefusal(
          row({ status }),
          { ...attempt, issuer: 'https://other.example.com' },
          NOW,
        ),
        'subject_mismatch',
      );
  });

  it('an approval granted under another requirement is requirement_changed, pending or approved', () => {
    const tightened = { ...attempt, requirement: 'd'.repeat(64) };
    assert.equal(ApprovalStateRules.consumeRefusal(row(), tightened, NOW), 'requirement_changed');
    assert.equal(
      ApprovalStateRules.consumeRefusal(row({ status: 'pending' }), tightened, NOW),
      'requirement_changed',
    );
    assert.equal(
      ApprovalStateRules.consumeRefusal(row({ status: 'denied' }), tightened, NOW),
      'denied',
    );
  });

  it('another caller learns only subject_mismatch, whatever the state', () => {
    for (const status of ['pending', 'denied', 'consumed'])
      assert.equal(
        ApprovalStateRules.consumeRefusal(row({ status }), { ...attempt, subject: 'x' }, NOW),
        'subject_mismatch',
      );
  });

  it('the call that consumed it may ask again (a lost reply) and is told it is its own', () => {
    const consumed = row({ status: 'consumed', consumedByDecision: 'd-1' });
    assert.equal(ApprovalStateRules.consumeRefusal(consumed, attempt, NOW), null);
    assert.equal(
      ApprovalStateRules.consumeRefusal(consumed, { ...attempt, fingerprint: 'b'.repeat(64) }, NOW),
      'already_used',
    );
  });
});
