import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decisionEventFixture } from '@portcullis/testing';
import { checkDecisionDocument, parseDecisionEvent } from './decision';
import { parseBundlePointer, BUNDLE_POINTER_SCHEMA } from './bundle';
import { ContractViolation } from './validation';
import { REDACTED, scrubDecisionEvent } from './credentials';

const event = decisionEventFixture;

describe('decision document check', () => {
  it('a document without a boolean allow is malformed, never an allow', () => {
    for (const v of [undefined, null, true, [], {}, { allow: 'true' }, { allow: 1 }]) {
      assert.equal(checkDecisionDocument(v).ok, false, JSON.stringify(v));
    }
  });

  it('reasons must be strings; informational fields beyond allow are kept', () => {
    assert.equal(checkDecisionDocument({ allow: false, reasons: [1] }).ok, false);
    const r = checkDecisionDocument({ allow: false, reasons: ['no'], policy_owner: 'team-a' });
    assert.ok(r.ok);
    assert.deepEqual(r.document.reasons, ['no']);
    assert.equal(r.document.policy_owner, 'team-a');
  });

  it('an obligation the enforcer cannot honor fails closed instead of being ignored', () => {
    const doc = { allow: true, mask: { fields: ['$.card_number'] } };
    const unsupported = checkDecisionDocument(doc);
    assert.equal(unsupported.ok, false);
    assert.match(unsupported.ok ? '' : unsupported.message, /"mask"/);
    const supported = checkDecisionDocument(doc, new Set(['mask'] as const));
    assert.ok(supported.ok);
    assert.deepEqual(supported.document.mask, { fields: ['$.card_number'] });
    assert.equal(checkDecisionDocument({ allow: true, approval: null }).ok, true);
  });

  it('missing reasons default to an empty list', () => {
    const r = checkDecisionDocument({ allow: true });
    assert.ok(r.ok);
    assert.deepEqual(r.document.reasons, []);
  });
});

describe('decision event contract', () => {
  it('a well-formed event round-trips through JSON unchanged', () => {
    const e = event();
    assert.deepEqual(parseDecisionEvent(JSON.parse(JSON.stringify(e))), e);
  });

  it('an unknown outcome is a contract violation naming the field', () => {
    assert.throws(
      () => parseDecisionEvent({ ...event(), outcome: 'maybe' }),
      (err: ContractViolation) => err instanceof ContractViolation && err.field === 'outcome',
    );
  });

  it('an enforcer id that could escape its NATS subject is refused', () => {
    assert.throws(() => parseDecisionEvent({ ...event(), enforcer_id: 'a.>' }), /enforcer_id/);
  });

  it('nested fields are named with their path', () => {
    assert.throws(
      () =>
        parseDecisionEvent({ ...event(), bundle: { name: 'default', version: 'x', digest: null } }),
      /bundle\.version/,
    );
  });
});

describe('bundle pointer contract', () => {
  const good = {
    schema: BUNDLE_POINTER_SCHEMA,
    bundle: 'default',
    version: 2,
    digest: 'b'.repeat(64),
    data_digest: 'c'.repeat(64),
    entrypoint: 'portcullis/decision',
    activated_at: new Date().toISOString(),
    activated_by: 'alice',
  };

  it('a well-formed pointer is accepted unchanged', () => {
    assert.deepEqual(parseBundlePointer(good), good);
  });

  it('a pointer whose digest is not hex sha256 or whose version is below 1 is refused', () => {
    assert.throws(() => parseBundlePointer({ ...good, digest: 'sha256:abc' }), /digest/);
    assert.throws(() => parseBundlePointer({ ...good, version: 0 }), /version/);
  });
});

describe('credential scrub of recorded decisions', () => {
  it('removes credential headers at any depth and redacts token query parameters', () => {
    const e = event({
      input: {
        request: {
          headers: { authorization: 'Bearer abc', Cookie: 'sid=1', accept: 'application/json' },
          query: { access_token: ['abc'], API_KEY: 'k', page: ['2'] },
        },
        nested: { headers: { 'proxy-authorization': 'Basic x' } },
      },
    });
    const out = scrubDecisionEvent(e);
    assert.doesNotMatch(JSON.stringify(out), /abc|sid=1|Basic x|"k"/);
    assert.deepEqual(out.input, {
      request: {
        headers: { accept: 'application/json' },
        query: { access_token: [REDACTED], API_KEY: REDACTED, page: ['2'] },
      },
      nested: { headers: {} },
    });
    assert.equal(
      (e.input as { request: { headers: Record<string, string> } }).request.headers.authorization,
      'Bearer abc',
    );
  });

  it('an event with nothing to scrub is passed on as is, not copied', () => {
    const e = event({
      input: { request: { headers: { accept: '*/*' }, query: { page: ['2'] }, body: { a: [1] } } },
    });
    assert.equal(scrubDecisionEvent(e), e);
  });

  it('the recorded query string has its credential parameters redacted', () => {
    const e = event({ request: { method: 'GET', path: '/x', query: 'a=1&Access%5Ftoken=abc' } });
    assert.equal(scrubDecisionEvent(e).request.query, `a=1&Access%5Ftoken=${REDACTED}`);
  });
});
