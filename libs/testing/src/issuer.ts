import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import { randomUUID } from 'node:crypto';
import { sendJson } from '@portcullis/platform';

/** A token to mint: its subject, extra claims, lifetime and audience (default: the issuer's). */
export interface MintOptions {
  sub: string;
  claims?: Record<string, unknown>;
  /** Lifetime in seconds (default 300); negative values mint an already-expired token. */
  ttl?: number;
  audience?: string | string[];
}

/**
 * An OIDC-style token issuer for tests and the dev stack: discovery document, JWKS, and minting.
 * It signs RS256 with a key generated at start; nothing is persisted.
 */
export class TokenIssuer {
  private server: Server | null = null;
  private privateKey!: CryptoKey;
  private publicJwk!: JWK;
  private kid = randomUUID();
  issuer = '';

  constructor(
    private readonly opts: {
      port: number;
      host?: string;
      audience: string | string[];
      issuer?: string;
    },
  ) {}

  get jwksUrl(): string {
    return `${this.issuer}/.well-known/jwks.json`;
  }

  get publicKeyJwk(): JWK {
    return this.publicJwk;
  }

  async start(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    this.privateKey = privateKey;
    this.publicJwk = { ...(await exportJWK(publicKey)), kid: this.kid, alg: 'RS256', use: 'sig' };
    const host = this.opts.host ?? '127.0.0.1';
    const server = createServer(
      (req, res) => void this.handle(req.method ?? 'GET', req.url ?? '/', req, res),
    );
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.opts.port, host, resolve));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    this.issuer = this.opts.issuer ?? `http://${host}:${port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = null;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async mint(o: MintOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const ttl = o.ttl ?? 300;
    const iat = ttl < 0 ? now + ttl * 2 : now;
    return new SignJWT({ ...(o.claims ?? {}) })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(o.sub)
      .setAudience(o.audience ?? this.opts.audience)
      .setIssuedAt(iat)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(this.privateKey);
  }

  private async handle(
    method: string,
    url: string,
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const send = (status: number, body: unknown) => sendJson(res, status, body);
    const path = url.split('?')[0];
    if (method === 'GET' && path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer: this.issuer,
        jwks_uri: this.jwksUrl,
        token_endpoint: `${this.issuer}/token`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (method === 'GET' && path === '/.well-known/jwks.json')
      return send(200, { keys: [this.publicJwk] });
    if (method === 'POST' && path === '/token') {
      let raw = '';
      for await (const chunk of req) {
        raw += String(chunk);
        if (raw.length > 64 * 1024) return send(413, { error: 'body too large' });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw || '{}');
      } catch {
        return send(400, { error: 'body must be JSON: { "sub", "claims"?, "ttl"? }' });
      }
      const b = body as { sub?: unknown; claims?: unknown; ttl?: unknown; aud?: unknown };
      if (typeof b.sub !== 'string' || b.sub.length === 0)
        return send(400, { error: '"sub" must be a non-empty string' });
      if (
        b.claims !== undefined &&
        (typeof b.claims !== 'object' || b.claims === null || Array.isArray(b.claims))
      ) {
        return send(400, { error: '"claims" must be an object' });
      }
      if (
        b.ttl !== undefined &&
        (typeof b.ttl !== 'number' || !Number.isInteger(b.ttl) || b.ttl > 86400)
      ) {
        return send(400, { error: '"ttl" must be an integer number of seconds, at most 86400' });
      }
      const token = await this.mint({
        sub: b.sub,
        claims: b.claims as Record<string, unknown> | undefined,
        ttl: b.ttl,
        audience: typeof b.aud === 'string' ? b.aud : undefined,
      });
      return send(200, { access_token: token, token_type: 'Bearer', expires_in: b.ttl ?? 300 });
    }
    send(404, { error: 'not found' });
  }
}
