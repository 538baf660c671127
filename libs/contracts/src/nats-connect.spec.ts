import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizationError, nkeys } from '@nats-io/nats-core';
import { SecretValue, type NatsAuth } from '@portcullis/platform';
import { natsAuthOptions, natsConnectError, natsServers } from './nats-connect';

const user = nkeys.createUser();
const seed = new TextDecoder().decode(user.getSeed());
const jwt = 'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJVIn0.c2ln';
const creds = `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;

/** What the client sends in CONNECT for `auth`, answering the server's nonce. */
function login(auth: NatsAuth, nonce = 'server-nonce'): Record<string, unknown> {
  const { authenticator } = natsAuthOptions(auth);
  assert.ok(authenticator, `an authenticator for ${auth.method}`);
  return { ...authenticator(nonce) };
}

function signedNonce(sent: Record<string, unknown>, nonce = 'server-nonce'): boolean {
  return nkeys
    .fromPublic(String(sent.nkey))
    .verify(new TextEncoder().encode(nonce), nkeys.decode(String(sent.sig)));
}

describe('NATS login options', () => {
  it('an anonymous client gets no authenticator', () => {
    assert.deepEqual(natsAuthOptions({ method: 'none' }), {});
  });

  it('user and password, and a token, are sent as configured', () => {
    const pw = login({
      method: 'user-password',
      user: 'enforcer-a',
      password: new SecretValue('pw'),
      from: 'NATS_USER',
    });
    assert.deepEqual(pw, { user: 'enforcer-a', pass: 'pw' });
    assert.deepEqual(login({ method: 'token', token: new SecretValue('tok') }), {
      auth_token: 'tok',
    });
  });

  it('an nkey seed signs the server nonce with the user key', () => {
    const sent = login({ method: 'nkey', file: '/x.nk', seed: new SecretValue(seed) });
    assert.equal(sent.nkey, user.getPublicKey());
    assert.ok(signedNonce(sent));
  });

  it('a creds file sends its JWT and signs the nonce with its seed', () => {
    const sent = login({ method: 'creds', file: '/x.creds', creds: new SecretValue(creds) });
    assert.equal(sent.jwt, jwt);
    assert.ok(signedNonce(sent));
  });

  it('NATS_URL servers are split on commas for the client', () => {
    assert.deepEqual(natsServers('nats://a:4222, nats://b:4222'), [
      'nats://a:4222',
      'nats://b:4222',
    ]);
  });

  it('a refused login names the method and user, never the password; other errors pass through', () => {
    const auth: NatsAuth = {
      method: 'user-password',
      user: 'enforcer-a',
      password: new SecretValue('hunter2'),
      from: 'NATS_USER',
    };
    const refused = natsConnectError(new AuthorizationError('Authorization Violation'), auth);
    assert.equal(
      refused,
      'NATS refused the login with user "enforcer-a" (NATS_USER/NATS_PASSWORD): Authorization Violation',
    );
    assert.equal(natsConnectError(new Error('connection refused'), auth), 'connection refused');
  });
});
