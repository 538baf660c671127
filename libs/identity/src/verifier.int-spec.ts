import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
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

/**
 * A hand-rolled issuer whose tokens the tests shape freely (headers, claim types) and whose JWKS
 * endpoint counts its hits, so refetch storms are visible.
 */
describe('TokenVerifier against adversarial tokens (own JWKS endpoint)', () => {
  const ISS = 'https://issuer.test';
  let server: Server;
  let jwksUrl: string;
  let discoveryUrl: string;
  let jwksHits = 0;
  let discoveryHits = 0;
  let key: CryptoKey;
  let jwk: JWK;
  let verifier: TokenVerifier;
  const now = () => Math.floor(Date.now() / 1000);

  function sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
    return new SignJWT({ iss: ISS, aud: AUDIENCE, sub: 'fn-a', exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, ...header })
      .sign(key);
  }

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((req, res) => {
      if (req.url === '/jwks') {
        jwksHits++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [jwk] }));
        return;
      }
      discoveryHits++;
      res.writeHead(503).end();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${port}/jwks`;
    discoveryUrl = `http://127.0.0.1:${port}`;
    verifier = new TokenVerifier({ issuer: ISS, audience: AUDIENCE, jwksUrl });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a well-formed token from the hand-rolled issuer is accepted (the harness works)', async () => {
    assert.equal((await verifier.verify(await sign({}))).subject, 'fn-a');
  });

  it('a token whose sub is not a string is rejected as claim_missing', async () => {
    await rejectsWith(verifier.verify(await sign({ sub: 42 })), 'claim_missing');
    await rejectsWith(verifier.verify(await sign({ sub: { id: 'admin' } })), 'claim_missing');
    await rejectsWith(verifier.verify(await sign({ sub: '' })), 'claim_missing');
  });

  it('a token issued (iat) in the future beyond the clock tolerance is rejected', async () => {
    await rejectsWith(verifier.verify(await sign({ iat: now() + 3600 })), 'token_not_yet_valid');
    assert.ok(await verifier.verify(await sign({ iat: now() + 5 })), 'small skew must pass');
  });

  it('a token whose nbf is in the future is rejected as token_not_yet_valid', async () => {
    await rejectsWith(verifier.verify(await sign({ nbf: now() + 3600 })), 'token_not_yet_valid');
  });

  it('a token without exp is rejected as claim_missing', async () => {
    await rejectsWith(verifier.verify(await sign({ exp: undefined })), 'claim_missing');
  });

  it('an aud array holding this audience among others is accepted', async () => {
    const id = await verifier.verify(await sign({ aud: ['other', AUDIENCE, 'third'] }));
    assert.deepEqual(id.audience, ['other', AUDIENCE, 'third']);
  });

  it('keys embedded in the token header (jwk, jku, x5u) are ignored: only the JWKS counts', async () => {
    const attacker = await generateKeyPair('RS256', { extractable: true });
    const attackerJwk = await exportJWK(attacker.publicKey);
    const forged = await new SignJWT({ iss: ISS, aud: AUDIENCE, sub: 'admin', exp: now() + 300 })
      .setProtectedHeader({
        alg: 'RS256',
        kid: jwk.kid,
        jwk: attackerJwk,
        jku: 'http://127.0.0.1:1/evil-jwks',
        x5u: 'http://127.0.0.1:1/evil.pem',
      })
      .sign(attacker.privateKey);
    await rejectsWith(verifier.verify(forged), 'signature_invalid');
  });

  it('a token with a crit header the verifier does not understand is rejected', async () => {
    // jose's SignJWT refuses unknown crit itself, so sign the bytes directly.
    const head = b64url({ alg: 'RS256', kid: jwk.kid, crit: ['urn:x'], 'urn:x': 1 });
    const body = b64url({ iss: ISS, aud: AUDIENCE, sub: 'fn-a', exp: now() + 300 });
    const sig = Buffer.from(
      await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, Buffer.from(`${head}.${body}`)),
    ).toString('base64url');
    await rejectsWith(verifier.verify(`${head}.${body}.${sig}`), 'token_malformed');
  });

  it('a flood of tokens with random kids refetches the JWKS at most once per cooldown', async () => {
    const fresh = new TokenVerifier({ issuer: ISS, audience: AUDIENCE, jwksUrl });
    await fresh.verify(await sign({}));
    const before = jwksHits;
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => sign({}, { kid: randomUUID() })),
    );
    for (const batch of [tokens.slice(0, 25), tokens.slice(25)]) {
      const results = await Promise.allSettled(batch.map((t) => fresh.verify(t)));
      assert.ok(results.every((r) => r.status === 'rejected'));
    }
    assert.ok(
      jwksHits - before <= 1,
      `JWKS fetched ${jwksHits - before} times for 50 unknown kids`,
    );
  });

  it('a failing OIDC discovery is not retried for every call', async () => {
    const broken = new TokenVerifier({ issuer: discoveryUrl, audience: AUDIENCE });
    const before = discoveryHits;
    for (let i = 0; i < 20; i++)
      await rejectsWith(broken.verify(await sign({})), 'jwks_unavailable');
    assert.equal(discoveryHits - before, 1);
  });

  it('an algorithm name from the token header is echoed only when it looks like one', async () => {
    const head = b64url({ alg: `RS256${'x'.repeat(200)}`, kid: 'k1' });
    const body = b64url({ iss: ISS, sub: 'a', aud: AUDIENCE, exp: now() + 60 });
    await assert.rejects(verifier.verify(`${head}.${body}.c2ln`), (err: Error) => {
      assert.ok(err instanceof AuthenticationError);
      assert.equal(err.code, 'algorithm_not_allowed');
      assert.ok(!err.message.includes('xxxx'), err.message);
      return true;
    });
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

  it('the Bearer scheme is matched case-insensitively and extra spaces are tolerated', () => {
    assert.equal(TokenVerifier.bearer('bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(TokenVerifier.bearer('BEARER   abc.def.ghi  '), 'abc.def.ghi');
    assert.throws(
      () => TokenVerifier.bearer('Bearer abc.def.ghi extra'),
      (e: AuthenticationError) => e.code === 'token_malformed',
    );
  });
});

describe('TokenVerifier cache', () => {
  let issuer: TokenIssuer;
  before(async () => {
    issuer = new TokenIssuer({ port: await freePort(), audience: AUDIENCE });
    await issuer.start();
  });
  after(() => issuer.stop());

  it('a cached token stops being accepted when it expires', async () => {
    const verifier = new TokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      clockToleranceSec: 0,
    });
    const token = await issuer.mint({ sub: 'short-lived', ttl: 2 });
    assert.equal((await verifier.verify(token)).subject, 'short-lived');
    assert.equal(verifier.cachedTokens, 1);
    await new Promise((r) => setTimeout(r, 2100));
    await rejectsWith(verifier.verify(token), 'token_expired');
    assert.equal(verifier.cachedTokens, 0);
  });

  it('a token differing from a cached one only in its signature is still rejected', async () => {
    const verifier = new TokenVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
    const token = await issuer.mint({ sub: 'reader' });
    await verifier.verify(token);
    const [h, p, sig] = token.split('.');
    const flipped = `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    await rejectsWith(verifier.verify(flipped), 'signature_invalid');
  });

  it('the cache holds at most cacheMaxEntries tokens, and 0 turns it off', async () => {
    const bounded = new TokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      cacheMaxEntries: 2,
    });
    for (const sub of ['a', 'b', 'c']) await bounded.verify(await issuer.mint({ sub }));
    assert.equal(bounded.cachedTokens, 2);
    const off = new TokenVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      cacheMaxEntries: 0,
    });
    await off.verify(await issuer.mint({ sub: 'a' }));
    assert.equal(off.cachedTokens, 0);
  });

  it('a cached identity cannot be altered by one caller for the next', async () => {
    const verifier = new TokenVerifier({ issuer: issuer.issuer, audience: AUDIENCE });
    const token = await issuer.mint({ sub: 'reader', claims: { roles: ['crm-reader'] } });
    const first = await verifier.verify(token);
    assert.throws(() => {
      first.claims.roles = ['crm-admin'];
    }, TypeError);
    assert.deepEqual((await verifier.verify(token)).claims.roles, ['crm-reader']);
  });
});
