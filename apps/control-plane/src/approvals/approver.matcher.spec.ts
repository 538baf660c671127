import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApproverMatcher } from './approver.matcher';

const ISS = 'https://idp.example.com';
const requester = { subject: 'svc-reports', issuer: ISS };
const alice = { subject: 'alice', issuer: ISS, groups: ['dev'] };
const dba = { subject: 'bob', issuer: ISS, groups: ['ops', 'dba'] };

describe('approver matching', () => {
  it('user:<sub> matches exactly that subject, not a prefix or another case', () => {
    assert.equal(ApproverMatcher.matches(['user:alice'], alice), true);
    assert.equal(ApproverMatcher.matches(['user:alic'], alice), false);
    assert.equal(ApproverMatcher.matches(['user:Alice'], alice), false);
  });

  it('group:<g> matches a group in the groups claim, and only that', () => {
    assert.equal(ApproverMatcher.matches(['group:dba'], dba), true);
    assert.equal(ApproverMatcher.matches(['group:dba'], alice), false);
    assert.equal(ApproverMatcher.matches(['group:ops:dba'], dba), false);
  });

  it('a user entry never matches a group of the same name, nor the reverse', () => {
    assert.equal(ApproverMatcher.matches(['group:alice'], alice), false);
    assert.equal(ApproverMatcher.matches(['user:dba'], dba), false);
  });

  it('the requester cannot approve their own request even when listed by name or group', () => {
    const self = { ...requester, groups: ['dba'] };
    assert.equal(
      ApproverMatcher.mayApprove(['user:svc-reports'], requester, self),
      'self_approval',
    );
    assert.equal(ApproverMatcher.mayApprove(['group:dba'], requester, self), 'self_approval');
  });

  it('an approver with the requester’s subject under another issuer is refused as self-approval', () => {
    const other = { subject: 'svc-reports', issuer: 'https://other.example.com', groups: ['dba'] };
    assert.equal(ApproverMatcher.mayApprove(['group:dba'], requester, other), 'self_approval');
    assert.equal(ApproverMatcher.mayApprove(['group:dba'], requester, dba), null);
  });

  it('an approver outside the listed users and groups is refused', () => {
    assert.equal(
      ApproverMatcher.mayApprove(['group:dba', 'user:carol'], requester, alice),
      'not_an_approver',
    );
    assert.equal(ApproverMatcher.mayDeny(['group:dba'], alice), 'not_an_approver');
    assert.equal(ApproverMatcher.mayDeny(['group:dba'], dba), null);
  });
});
