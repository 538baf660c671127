import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { TokenIssuer, freePort } from '@portcullis/testing';
import { AuthenticationError, TokenVerifier } from '@portcullis/identity';

const AUDIENCE = 'portcullis-enforcer';

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(
      err instanceof AuthenticationError,
      `expected AuthenticationError, got ${String(err)}`,
    );
    assert.equal(err.code, code);
    return true;
  });
}

describe('TokenVerifier against a real JWKS endpoint', () => {
  let issuer: TokenIssuer;
  let verifier: TokenVerifier;

  before(async () => {
    issuer = new TokenIssuer({ port: await freePort(), audience: AUDIENCE });
    await issuer.start();
    // No jwksUrl: the verifier must discover it from the issuer's OIDC document.
    verifier = new TokenVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
  });
  after(() => issuer.stop());

  it('a token from the trusted issuer yields its subject and all verified claims', async () => {
    const token = await issuer.mint({ sub: 'fn-billing', claims: { roles: ['crm-reader'] } });
    const id = await verifier.verify(token);
    assert.equal(id.subject, 'fn-billing');
    assert.equal(id.issuer, issuer.issuer);
    assert.deepEqual(id.audience, [AUDIENCE]);
    assert.deepEqual(id.claims.roles, ['crm-reader']);
  });

  it('an expired token is rejected as token_expired', async () => {
    await rejectsWith(verifier.verify(await issuer.mint({ sub: 'a', ttl: -120 })), 'token_expired');
  });

  it('a token for another audience is rejected as audience_mismatch', async () => {
    await rejectsWith(
      verifier.verify(await issuer.mint({ sub: 'a', audience: 'someone-else' })),
      'audience_mismatch',
    );
  });

  it('a token signed by a key outside the JWKS is rejected', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'not-in-jwks' })
      .setIssuer(issuer.issuer)
      .setSubject('a')
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(privateKey);
    await rejectsWith(verifier.verify(forged), 'key_not_found');
  });

  it('a token whose payload was altered after signing fails signature verification', async () => {
    const [h, , s] = (await issuer.mint({ sub: 'reader' })).split('.');
    const now = Math.floor(Date.now() / 1000);
    const payload = b64url({ iss: issuer.issuer, sub: 'admin', aud: AUDIENCE, exp: now + 300 });
    await rejectsWith(verifier.verify(`${h}.${payload}.${s}`), 'signature_invalid');
  });

  it('an unsigned alg:none token is rejected before any key lookup', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: issuer.issuer, sub: 'a', aud: AUDIENCE, exp: now + 60 })}.`;
    await rejectsWith(verifier.verify(token), 'algorithm_not_allowed');
  });

  it('a token signed with HS256 using the RSA public key is rejected', async () => {
    const pem = createPublicKey({ key: issuer.publicKeyJwk, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    const now = Math.floor(Date.now() / 1000);
    const head = b64url({ alg: 'HS256', typ: 'JWT', kid: issuer.publicKeyJwk.kid });
    const body = b64url({ iss: issuer.issuer, sub: 'a', aud: AUDIENCE, exp: now + 60 });
    const sig = createHmac('sha256', pem).update(`${head}.${body}`).digest('base64url');
    await rejectsWith(verifier.verify(`${head}.${body}.${sig}`), 'algorithm_not_allowed');
  });

  it('a token from another issuer is rejected as issuer_mismatch', async () => {
    const other = new TokenVerifier({
      issuer: 'https://elsewhere.example',
      audience: AUDIENCE,
      jwksUrl: issuer.jwksUrl,
    });
    await rejectsWith(other.verify(await issuer.mint({ sub: 'a' })), 'issuer_mismatch');
  });

  it('an oversized token is rejected without parsing', async () => {
    await rejectsWith(verifier.verify('a'.repeat(9000)), 'token_too_long');
  });

  it('garbage that is not a compact JWS is rejected as token_malformed', async () => {
    await rejectsWith(verifier.verify('not-a-token'), 'token_malformed');
    await rejectsWith(verifier.verify('e30.e30.e30.e30'), 'token_malformed');
  });

  it('error messages never echo the token', async () => {
    const token = await issuer.mint({ sub: 'a', ttl: -120 });
    await assert.rejects(
      verifier.verify(token),
      (err: Error) => !err.message.includes(token.split('.')[2]),
    );
  });

  it('an unreachable issuer surfaces as jwks_unavailable, not as an allow', async () => {
    const dead = new TokenVerifier({
      issuer: `http://127.0.0.1:${await freePort()}`,
      audience: AUDIENCE,
      fetchTimeoutMs: 500,
    });
    await rejectsWith(dead.verify(await issuer.mint({ sub: 'a' })), 'jwks_unavailable');
  });
});

describe('TokenVerifier configuration', () => {
  it('refuses an HMAC algorithm in the allow-list', () => {
    assert.throws(
      () => new TokenVerifier({ issuer: 'x', audience: 'y', algorithms: ['RS256', 'HS256'] }),
      /asymmetric/,
    );
  });

  it('extracts a bearer token and rejects other schemes', () => {
    assert.equal(TokenVerifier.bearer('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.throws(
      () => TokenVerifier.bearer(undefined),
      (e: AuthenticationError) => e.code === 'token_missing',
    );
    assert.throws(
      () => TokenVerifier.bearer('Basic dXNlcjpwYXNz'),
      (e: AuthenticationError) => e.code === 'token_malformed',
    );
    assert.throws(
      () => TokenVerifier.bearer(['Bearer a', 'Bearer b']),
      (e: AuthenticationError) => e.code === 'token_malformed',
    );
  });
});
