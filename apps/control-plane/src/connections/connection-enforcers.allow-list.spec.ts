import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENFORCER_KEY_SCHEMA, type EnforcerKey } from '@portcullis/contracts';
import { ConfigError } from '@portcullis/platform';
import { loadDefaultEnforcers, mayReceiveSecret } from './connection-enforcers.allow-list';

const key = (enforcerId: string, serves: string[]): EnforcerKey => ({
  schema: ENFORCER_KEY_SCHEMA,
  enforcer_id: enforcerId,
  kid: `kid-${enforcerId}`,
  alg: 'ECDH-ES+A256KW',
  public_jwk: { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'A'.repeat(43) },
  serves,
  registered_at: '2026-01-01T00:00:00Z',
});

describe('connection enforcer allow-list', () => {
  it('an enforcer not on the allow-list is no recipient even when it claims to serve "*"', () => {
    assert.equal(mayReceiveSecret(['crm-eu-1'], key('rogue', ['*']), 'crm'), false);
    assert.equal(mayReceiveSecret([], key('crm-eu-1', ['*']), 'crm'), false);
  });
  it('a listed enforcer is a recipient only if it also serves the connection', () => {
    assert.equal(mayReceiveSecret(['crm-eu-1'], key('crm-eu-1', ['crm']), 'crm'), true);
    assert.equal(mayReceiveSecret(['crm-eu-1'], key('crm-eu-1', ['*']), 'crm'), true);
    assert.equal(mayReceiveSecret(['crm-eu-1'], key('crm-eu-1', ['erp']), 'crm'), false);
  });
  it('"*" lets every enforcer that serves the connection receive it', () => {
    assert.equal(mayReceiveSecret(['*'], key('any', ['crm']), 'crm'), true);
    assert.equal(mayReceiveSecret(['*'], key('any', ['erp']), 'crm'), false);
  });

  it('CONNECTION_DEFAULT_ENFORCERS unset means "*", empty means none, a list means those ids', () => {
    assert.deepEqual(loadDefaultEnforcers({}), ['*']);
    assert.deepEqual(loadDefaultEnforcers({ CONNECTION_DEFAULT_ENFORCERS: '' }), []);
    assert.deepEqual(loadDefaultEnforcers({ CONNECTION_DEFAULT_ENFORCERS: ' ' }), []);
    assert.deepEqual(loadDefaultEnforcers({ CONNECTION_DEFAULT_ENFORCERS: 'a, b' }), ['a', 'b']);
  });
  it('an invalid CONNECTION_DEFAULT_ENFORCERS stops boot naming the variable and the entry', () => {
    for (const [value, message] of [
      ['a,Bad Id', /CONNECTION_DEFAULT_ENFORCERS entry 2 must be "\*" or an enforcer id/],
      ['*,a', /CONNECTION_DEFAULT_ENFORCERS entry 1 must not be "\*"/],
      ['a,a', /CONNECTION_DEFAULT_ENFORCERS entry 2 repeats "a"/],
    ] as const)
      assert.throws(
        () => loadDefaultEnforcers({ CONNECTION_DEFAULT_ENFORCERS: value }),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
  });
});
