import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  APPROVAL_CREATE_SCHEMA,
  approvalFingerprint,
  approvalRequirementDigest,
  parseApprovalConsumeRequest,
  parseApprovalCreateRequest,
  type ApprovalObligation,
  type FingerprintParts,
} from './approvals';
import { ContractViolation } from './validation';

const parts: FingerprintParts = {
  issuer: 'https://idp.example.com',
  subject: 'svc-cleanup',
  connection: 'crm',
  method: 'DELETE',
  path: '/customers/7',
  query: null,
  body: new Uint8Array(0),
};

const obligation: ApprovalObligation = {
  required: true,
  reason: 'r',
  approvers: ['group:dba', 'user:carol'],
  min_approvals: 1,
  ttl_seconds: 60,
};

const createMessage = (over: Record<string, unknown> = {}) => ({
  schema: APPROVAL_CREATE_SCHEMA,
  decision_id: '00000000-0000-4000-8000-000000000001',
  enforcer_id: 'e1',
  requester: { subject: 'svc-cleanup', issuer: 'https://idp.example.com' },
  connection: 'crm',
  request: { method: 'DELETE', path: '/customers/7', query: null, body: null },
  fingerprint: approvalFingerprint(parts),
  approval: obligation,
  requirement: approvalRequirementDigest(obligation),
  bundle: { name: 'default', version: 1 },
  ...over,
});

describe('approval contract', () => {
  it('the fingerprint covers the issuer: the same subject from another issuer is another operation', () => {
    assert.notEqual(
      approvalFingerprint(parts),
      approvalFingerprint({ ...parts, issuer: 'https://other.example.com' }),
    );
    assert.equal(approvalFingerprint(parts), approvalFingerprint({ ...parts }));
  });

  it('the requirement digest changes with the approvers or the count, not with their order', () => {
    const digest = approvalRequirementDigest(obligation);
    assert.equal(
      digest,
      approvalRequirementDigest({
        approvers: ['user:carol', 'group:dba', 'user:carol'],
        min_approvals: 1,
      }),
    );
    assert.notEqual(digest, approvalRequirementDigest({ ...obligation, min_approvals: 2 }));
    assert.notEqual(digest, approvalRequirementDigest({ ...obligation, approvers: ['group:dba'] }));
  });

  it('a create whose requirement is not the digest of its approvers is refused, naming the field', () => {
    assert.equal(
      parseApprovalCreateRequest(createMessage()).requirement,
      approvalRequirementDigest(obligation),
    );
    assert.throws(
      () =>
        parseApprovalCreateRequest(
          createMessage({ approval: { ...obligation, approvers: ['user:mallory'] } }),
        ),
      (err: unknown) => err instanceof ContractViolation && /requirement/.test(err.message),
    );
    assert.throws(
      () => parseApprovalCreateRequest(createMessage({ requirement: undefined })),
      ContractViolation,
    );
  });

  it('a consume must name the issuer and the requirement', () => {
    const consume = {
      approval_id: '00000000-0000-4000-8000-000000000002',
      subject: 'svc-cleanup',
      issuer: 'https://idp.example.com',
      fingerprint: 'f'.repeat(64),
      requirement: 'a'.repeat(64),
      decision_id: '00000000-0000-4000-8000-000000000003',
      enforcer_id: 'e1',
    };
    assert.equal(parseApprovalConsumeRequest(consume).issuer, 'https://idp.example.com');
    for (const field of ['issuer', 'requirement']) {
      const missing: Record<string, unknown> = { ...consume };
      delete missing[field];
      assert.throws(
        () => parseApprovalConsumeRequest(missing),
        (err: unknown) => err instanceof ContractViolation && err.message.includes(field),
      );
    }
  });
});
