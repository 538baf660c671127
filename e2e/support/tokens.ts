import { createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import { SignJWT, UnsecuredJWT, generateKeyPair, type JWK } from 'jose';

/** The JWKS the issuer publishes (the verifier's only source of keys). */
export async function fetchJwks(issuerUrl: string): Promise<JWK[]> {
  const res = await fetch(`${issuerUrl}/.well-known/jwks.json`);
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
  return ((await res.json()) as { keys: JWK[] }).keys;
}

interface Claims {
  issuer: string;
  audience: string | string[];
  subject: string;
  claims?: Record<string, unknown>;
}

/**
 * Tokens an attacker could present, each otherwise valid (right issuer, audience, subject, a
 * future `exp`), so that the one flaw named is the only reason to reject it.
 */
export class ForgedTokens {
  constructor(
    private readonly jwks: JWK[],
    private readonly base: Claims,
  ) {}

  private get kid(): string | undefined {
    return this.jwks[0]?.kid;
  }

  /** RS256 with a freshly generated key, carrying the real key's `kid`. */
  async signedWithAnotherKey(): Promise<string> {
    const { privateKey } = await generateKeyPair('RS256');
    return this.builder()
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .sign(privateKey);
  }

  /** `alg: none`, empty signature. */
  unsigned(): string {
    return this.claimed(new UnsecuredJWT({ ...(this.base.claims ?? {}) })).encode();
  }

  /**
   * HS256 whose HMAC secret is the issuer's RSA public key (PEM, as a naive verifier would load
   * it): the classic algorithm-confusion attack.
   */
  async hs256WithPublicKey(): Promise<string> {
    const jwk = this.jwks[0];
    if (!jwk) throw new Error('issuer published no keys');
    const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    return this.builder()
      .setProtectedHeader({ alg: 'HS256', kid: this.kid, typ: 'JWT' })
      .sign(new TextEncoder().encode(pem));
  }

  private builder(): SignJWT {
    return this.claimed(new SignJWT({ ...(this.base.claims ?? {}) }));
  }

  /** Stamps the otherwise-valid registered claims: issuer, audience, subject, iat, exp, jti. */
  private claimed<T extends SignJWT | UnsecuredJWT>(jwt: T): T {
    const now = Math.floor(Date.now() / 1000);
    jwt
      .setIssuer(this.base.issuer)
      .setAudience(this.base.audience)
      .setSubject(this.base.subject)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(randomUUID());
    return jwt;
  }
}
