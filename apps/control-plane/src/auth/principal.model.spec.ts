import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rolesFromClaim } from './principal.model';

describe('roles claim', () => {
  it('an array claim yields its string members only', () => {
    assert.deepEqual(rolesFromClaim(['policy-admin', 7, '', 'auditor']), [
      'policy-admin',
      'auditor',
    ]);
  });
  it('a space-separated string claim yields each role', () => {
    assert.deepEqual(rolesFromClaim('auditor  policy-admin'), ['auditor', 'policy-admin']);
  });
  it('a claim of another shape grants no role', () => {
    assert.deepEqual(rolesFromClaim({ 'policy-admin': true }), []);
    assert.deepEqual(rolesFromClaim(undefined), []);
  });
});
