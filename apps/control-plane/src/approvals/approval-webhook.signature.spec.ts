import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ApprovalWebhookSignature } from './approval-webhook.signature';
import { webhookBackoffMs } from './approval-webhook.dispatcher';

const SECRET = 'whsec-0123456789abcdef';
const BODY = '{"event":"approval.requested"}';

describe('webhook signature', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
    assert.equal(
      ApprovalWebhookSignature.header(SECRET, BODY, 1_700_000_000),
      `t=1700000000,v1=${expected}`,
    );
  });

  it('verifies its own header within the tolerance', () => {
    const h = ApprovalWebhookSignature.header(SECRET, BODY, 1_700_000_000);
    assert.equal(ApprovalWebhookSignature.verify(SECRET, BODY, h, 1_700_000_100), true);
  });

  it('a changed body, another secret or a replay outside the tolerance does not verify', () => {
    const h = ApprovalWebhookSignature.header(SECRET, BODY, 1_700_000_000);
    assert.equal(ApprovalWebhookSignature.verify(SECRET, `${BODY} `, h, 1_700_000_000), false);
    assert.equal(
      ApprovalWebhookSignature.verify('another-secret-xxxx', BODY, h, 1_700_000_000),
      false,
    );
    assert.equal(ApprovalWebhookSignature.verify(SECRET, BODY, h, 1_700_000_301), false);
  });

  it('a timestamp moved without re-signing does not verify', () => {
    const h = ApprovalWebhookSignature.header(SECRET, BODY, 1_700_000_000);
    const moved = h.replace('t=1700000000', 't=1700000050');
    assert.equal(ApprovalWebhookSignature.verify(SECRET, BODY, moved, 1_700_000_050), false);
  });

  it('malformed headers do not verify', () => {
    for (const h of ['', 't=1', 'v1=ab', 't=x,v1=' + 'a'.repeat(64), 't=1700000000,v1=zz'])
      assert.equal(ApprovalWebhookSignature.verify(SECRET, BODY, h, 1_700_000_000), false, h);
  });
});

describe('webhook retry backoff', () => {
  it('doubles from one second and is capped at five minutes', () => {
    assert.deepEqual([1, 2, 3, 4].map(webhookBackoffMs), [1000, 2000, 4000, 8000]);
    assert.equal(webhookBackoffMs(30), 300_000);
  });
});
