import {
  createRemoteJWKSet,
  jwtVerify,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
  decodeProtectedHeader,
} from 'jose';
import { AuthenticationError } from './errors';

/** Asymmetric algorithms only: a public key can never be used as an HMAC secret. */
export const DEFAULT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];
const FORBIDDEN_ALGORITHMS = new Set(['none', 'HS256', 'HS384', 'HS512']);
/** How long a failed OIDC discovery is answered from memory before the issuer is asked again. */
export const DISCOVERY_RETRY_MS = 2000;

/**
 * What a token must satisfy to be accepted: issuer and audience are always checked, algorithms
 * are pinned to an asymmetric allow-list, and sizes, clock skew and key fetches are bounded.
 */
export interface TokenVerifierOptions {
  /** Expected `iss`, exactly. */
  issuer: string;
  /** Accepted `aud` values; the token must carry at least one. */
  audience: string | string[];
  /** JWKS URL; when absent it is discovered from `<issuer>/.well-known/openid-configuration`. */
  jwksUrl?: string;
  /** Algorithm allow-list; must be asymmetric. Default {@link DEFAULT_ALGORITHMS}. */
  algorithms?: string[];
  /** Clock skew tolerated for exp/nbf/iat, in seconds (default 30, at most 300). */
  clockToleranceSec?: number;
  /** Longest accepted compact token, in characters (default 8192). */
  maxTokenLength?: number;
  /** Timeout for JWKS and discovery fetches, in ms (default 5000). */
  fetchTimeoutMs?: number;
  /**
   * How many verified tokens to remember (default 10000; 0 turns the cache off). A cached token
   * is accepted again without a signature check until it expires or `cacheTtlMs` passes,
   * whichever comes first; only the exact same token string hits.
   */
  cacheMaxEntries?: number;
  /**
   * Longest time a verification is reused (default 60000 ms). It bounds how long a token signed
   * by a key that was since removed from the JWKS is still accepted.
   */
  cacheTtlMs?: number;
}

/** A verified token, as the policy input's `identity`. */
export interface VerifiedIdentity {
  subject: string;
  issuer: string;
  audience: string[];
  /** All verified claims, as signed. */
  claims: Record<string, unknown>;
  expiresAt: Date;
}

/**
 * Verifies compact JWS bearer tokens against the issuer's JWKS with jose: issuer, audience and
 * `exp` always checked, algorithms pinned to an asymmetric allow-list, length capped. Keys come
 * only from the JWKS (cached and refreshed by jose on unknown `kid`). Throws
 * {@link AuthenticationError}; never returns a partially verified identity.
 */
export class TokenVerifier {
  private readonly algorithms: string[];
  private readonly audiences: string[];
  private readonly clockTolerance: number;
  private readonly maxLength: number;
  private readonly cacheMax: number;
  private readonly cacheTtlMs: number;
  /** Insertion-ordered, so the first key is the least recently used. */
  private readonly cache = new Map<string, { identity: VerifiedIdentity; until: number }>();
  private keys: JWTVerifyGetKey | null = null;
  private keysPromise: Promise<JWTVerifyGetKey> | null = null;
  private discoveryFailure: { error: AuthenticationError; until: number } | null = null;

  constructor(private readonly opts: TokenVerifierOptions) {
    this.algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
    const bad = this.algorithms.filter((a) => FORBIDDEN_ALGORITHMS.has(a));
    if (bad.length > 0)
      throw new Error(`token algorithms must be asymmetric; refusing ${bad.join(', ')}`);
    if (this.algorithms.length === 0) throw new Error('token algorithm allow-list is empty');
    this.audiences = Array.isArray(opts.audience) ? opts.audience : [opts.audience];
    if (this.audiences.length === 0) throw new Error('at least one audience is required');
    this.clockTolerance = Math.min(opts.clockToleranceSec ?? 30, 300);
    this.maxLength = opts.maxTokenLength ?? 8192;
    this.cacheMax = opts.cacheMaxEntries ?? 10_000;
    this.cacheTtlMs = opts.cacheTtlMs ?? 60_000;
  }

  /** Extracts the token from an Authorization header value, or throws token_missing/malformed. */
  static bearer(header: string | string[] | undefined): string {
    if (header === undefined || header === '') {
      throw new AuthenticationError(
        'token_missing',
        'missing Authorization: Bearer <token> header',
      );
    }
    if (Array.isArray(header))
      throw new AuthenticationError('token_malformed', 'more than one Authorization header');
    const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
    if (!m)
      throw new AuthenticationError(
        'token_malformed',
        'Authorization header must be "Bearer <token>"',
      );
    return m[1];
  }

  /** How many verified tokens are remembered right now (for metrics and tests). */
  get cachedTokens(): number {
    return this.cache.size;
  }

  async verify(token: string): Promise<VerifiedIdentity> {
    if (token.length > this.maxLength) {
      throw new AuthenticationError(
        'token_too_long',
        `token longer than ${this.maxLength} characters`,
      );
    }
    const cached = this.cache.get(token);
    if (cached) {
      this.cache.delete(token);
      if (Date.now() < cached.until) {
        this.cache.set(token, cached);
        return cached.identity;
      }
      // Past its reuse window: verify again from scratch (and fail if it has expired).
    }
    const identity = await this.verifyUncached(token);
    if (this.cacheMax > 0) {
      // Reused only while exp (without clock tolerance) has not passed, at most cacheTtlMs.
      const until = Math.min(identity.expiresAt.getTime(), Date.now() + this.cacheTtlMs);
      this.cache.set(token, { identity, until });
      if (this.cache.size > this.cacheMax) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
    }
    return identity;
  }

  private async verifyUncached(token: string): Promise<VerifiedIdentity> {
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
      throw new AuthenticationError(
        'token_malformed',
        'token is not a compact JWS (header.payload.signature)',
      );
    }
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AuthenticationError('token_malformed', 'token header is not valid base64url JSON');
    }
    if (typeof alg !== 'string' || !this.algorithms.includes(alg)) {
      // The header is the caller's: echo it only when it looks like an algorithm name.
      const shown =
        typeof alg === 'string' && /^[A-Za-z0-9+-]{1,16}$/.test(alg) ? alg : '(invalid)';
      throw new AuthenticationError(
        'algorithm_not_allowed',
        `token algorithm ${shown} is not allowed`,
      );
    }
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.opts.issuer,
        audience: this.audiences,
        algorithms: this.algorithms,
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw mapJoseError(err);
    }
    // jose checks that `sub` is present, not what it is; the policy and the decision log treat
    // it as the caller's name, so anything but a non-empty string is refused.
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new AuthenticationError(
        'claim_missing',
        'token claim "sub" must be a non-empty string',
      );
    }
    // jose checks `iat` only against a maxTokenAge; a token issued in the future means a skewed
    // or compromised issuer, and would outlive the lifetime the issuer meant to grant.
    if (
      payload.iat !== undefined &&
      payload.iat > Math.floor(Date.now() / 1000) + this.clockTolerance
    ) {
      throw new AuthenticationError('token_not_yet_valid', 'token iat is in the future');
    }
    // jose has already required both (issuer option, requiredClaims); this only narrows the types.
    if (typeof payload.iss !== 'string' || typeof payload.exp !== 'number') {
      throw new AuthenticationError('claim_missing', 'token claims "iss" and "exp" are required');
    }
    // Frozen: a cached identity is shared by every call that presents the same token.
    return Object.freeze({
      subject: payload.sub,
      issuer: payload.iss,
      audience: Object.freeze(
        Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [],
      ) as string[],
      claims: Object.freeze({ ...payload }),
      expiresAt: new Date(payload.exp * 1000),
    });
  }

  /**
   * Resolves the JWKS once (discovery if needed). A failed discovery is remembered for
   * {@link DISCOVERY_RETRY_MS}, so a burst of calls while the issuer is down costs the issuer one
   * request, not one per call.
   */
  private async keySet(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    if (this.discoveryFailure && Date.now() < this.discoveryFailure.until)
      throw this.discoveryFailure.error;
    this.keysPromise ??= this.resolveKeySet()
      .catch((err: unknown) => {
        if (err instanceof AuthenticationError)
          this.discoveryFailure = { error: err, until: Date.now() + DISCOVERY_RETRY_MS };
        throw err;
      })
      .finally(() => (this.keysPromise = null));
    this.keys = await this.keysPromise;
    this.discoveryFailure = null;
    return this.keys;
  }

  private async resolveKeySet(): Promise<JWTVerifyGetKey> {
    const timeout = this.opts.fetchTimeoutMs ?? 5000;
    let jwksUrl = this.opts.jwksUrl;
    if (!jwksUrl) {
      const discovery = `${this.opts.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      try {
        const res = await fetch(discovery, { signal: AbortSignal.timeout(timeout) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
        if (doc.issuer !== this.opts.issuer)
          throw new Error('discovery document names another issuer');
        if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
        jwksUrl = doc.jwks_uri;
      } catch (err) {
        throw new AuthenticationError(
          'jwks_unavailable',
          `cannot discover the issuer's keys: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return createRemoteJWKSet(new URL(jwksUrl), {
      timeoutDuration: timeout,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    });
  }
}

function mapJoseError(err: unknown): AuthenticationError {
  if (err instanceof AuthenticationError) return err;
  if (err instanceof joseErrors.JWTExpired)
    return new AuthenticationError('token_expired', 'token has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return new AuthenticationError('issuer_mismatch', 'token issuer is not trusted');
      case 'aud':
        return new AuthenticationError(
          'audience_mismatch',
          'token audience does not include this service',
        );
      case 'nbf':
      case 'iat':
        return new AuthenticationError(
          'token_not_yet_valid',
          `token ${err.claim} is in the future`,
        );
      default:
        return new AuthenticationError(
          'claim_missing',
          `token claim "${err.claim}" is missing or invalid`,
        );
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return new AuthenticationError('algorithm_not_allowed', 'token algorithm is not allowed');
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new AuthenticationError('signature_invalid', 'token signature is invalid');
  }
  if (
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JWKSMultipleMatchingKeys
  ) {
    return new AuthenticationError(
      'key_not_found',
      "no key in the issuer's JWKS matches the token",
    );
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new AuthenticationError('jwks_unavailable', "the issuer's JWKS could not be fetched");
  }
  if (err instanceof joseErrors.JOSEError) {
    return new AuthenticationError('token_malformed', 'token could not be parsed');
  }
  // Network failures fetching the JWKS surface as plain errors.
  return new AuthenticationError('jwks_unavailable', "the issuer's JWKS could not be fetched");
}
