import { randomUUID } from 'node:crypto';
import {
  Agent as HttpAgent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  approvalFingerprint,
  redactQueryString,
  type DecisionErrorCode,
  type JsonObject,
} from '@portcullis/contracts';
import { AuthenticationError, TokenVerifier, type VerifiedIdentity } from '@portcullis/identity';
import { errorMessage, type Component, type Health, type Logger } from '@portcullis/platform';
import type { ApprovalEscalator, Escalation } from '../approvals/approval.escalator';
import type {
  ConnectionSource,
  InjectedCredential,
  ResolvedConnection,
} from '../connections/connection.types';
import type { EnforcerMetrics } from '../metrics/enforcer.metrics';
import type { DecisionPipeline } from '../pipeline/decision.pipeline';
import type {
  CallFacts,
  CallMeta,
  CapturedBody,
  Decision,
  IdentityResult,
} from '../pipeline/decision.types';
import {
  ALLOWED_METHODS,
  checkRequestHead,
  unsupportedRequestBody,
  headerValues,
  keptHeaders,
  policyHeaders,
  responseHeaders,
  summaryPath,
  upstreamHeaders,
} from './http-message.rules';
import { canonicalizeTarget } from './request-target.canonicalizer';
import {
  CredentialRedactor,
  bodyNeedles,
  credentialNeedles,
  redactInPlace,
  withoutCredentialHeaders,
} from './credential.redactor';
import { DECODABLE_CODINGS, type ResponseMasker } from './response.masker';

/**
 * The proxy listener and its limits, as validated by the enforcer config: where to listen, the
 * connections it serves, size caps (413/431) and timeouts.
 */
export interface HttpAdapterOptions {
  host: string;
  port: number;
  /** Looked up per call, so connection changes and credential rotations apply to the next call. */
  connections: ConnectionSource;
  /** Applies the `mask` obligation to responses. */
  responseMasker: ResponseMasker;
  /** How much of a piped (unmasked) response body is kept for a `record` obligation. */
  recordMaxBytes: number;
  /** Escalation of calls whose decision requires a human approval. */
  approvals: {
    escalator: ApprovalEscalator;
    /** Cap on `Prefer: wait=N`. */
    maxWaitSeconds: number;
    /** Calls held at once at most (each holds its socket and buffered body). */
    maxHeld: number;
    /** Control-plane base URL for the `status_url` of a pending approval. */
    controlPlaneUrl: string;
  };
  maxBodyBytes: number;
  maxHeaderBytes: number;
  requestTimeoutMs: number;
  upstreamTimeoutMs: number;
}

/** Something that turns a bearer token into an identity or throws AuthenticationError. */
export interface TokenVerifierLike {
  verify(token: string): Promise<VerifiedIdentity>;
}

/** What forwarding to one connection needs, derived once per ResolvedConnection object. */
interface Upstream {
  connection: ResolvedConnection;
  basePath: string;
  agent: HttpAgent;
  request: typeof httpRequest;
  /** The credential the enforcer injects; null when there is none (or none usable yet). */
  injected: InjectedCredential | null;
  /** The caller-side name of the connection's credential header (lower-cased), if it has one. */
  credentialHeader: string | null;
  /** Forms of the credential an upstream could echo back in headers (see credentialNeedles). */
  needles: string[];
  /** Those long enough to search response bodies for (see bodyNeedles). */
  scanFor: Buffer[];
}

/** Statuses the adapter may send itself; anything else comes from the upstream. */
type RejectStatus =
  202 | 400 | 401 | 403 | 404 | 405 | 408 | 413 | 415 | 417 | 431 | 500 | 502 | 503 | 504;

/**
 * A call node has handed to `handle` and whose decision event is not yet recorded. A parse error
 * or timeout on its socket (clientError) must not produce a second response or event for it:
 * the handler records the one event, with the status `onClientError` answered.
 */
interface InFlight {
  res: ServerResponse;
  /** Set by onClientError when it answered (or gave up on) this call's socket. */
  clientErrorStatus: RejectStatus | null;
  /** The call's decision id, once known, so an answer onClientError writes carries it. */
  decisionId: string | null;
}

/**
 * The HTTP protocol adapter: a reverse proxy on plain node:http. It turns each request into a
 * {@link PipelineRequest} (strict parsing, canonical target, verified identity, bounded body),
 * enforces the pipeline's decision, and forwards allowed calls to `<url>/<rest>` exactly as the
 * policy saw them. Nothing is sent upstream before the decision.
 */
export class HttpAdapter implements Component {
  readonly name = 'http-proxy';
  private server: Server | null = null;
  private readonly upstreams = new Map<string, Upstream>();
  /** Keep-alive pools by origin; connections that share an origin share its pool. */
  private readonly agents = new Map<string, HttpAgent>();
  private readonly inFlight = new WeakMap<Duplex, Set<InFlight>>();
  private boundPort = 0;
  /** Escalated calls currently held waiting for an approver. */
  private held = 0;

  constructor(
    private readonly opts: HttpAdapterOptions,
    private readonly pipeline: DecisionPipeline,
    private readonly verifier: TokenVerifierLike,
    private readonly metrics: EnforcerMetrics,
    private readonly logger: Logger,
  ) {}

  /** The upstream for a connection as it is now; rebuilt when the connection object changes. */
  private upstreamFor(connection: ResolvedConnection): Upstream {
    const cached = this.upstreams.get(connection.name);
    if (cached && cached.connection === connection) return cached;
    const https = connection.url.protocol === 'https:';
    const origin = `${connection.url.protocol}//${connection.url.host}`;
    let agent = this.agents.get(origin);
    if (!agent) {
      agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
      this.agents.set(origin, agent);
    }
    const credentials = connection.credentials;
    const injected = credentials === 'unavailable' ? null : credentials;
    const needles = injected ? credentialNeedles(injected) : [];
    const upstream: Upstream = {
      connection,
      basePath: connection.url.pathname.replace(/\/+$/, ''),
      agent,
      request: https ? httpsRequest : httpRequest,
      injected,
      credentialHeader: injected?.type === 'header' ? injected.name.toLowerCase() : null,
      needles,
      scanFor: bodyNeedles(needles),
    };
    this.upstreams.set(connection.name, upstream);
    return upstream;
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const server = createServer({
      maxHeaderSize: this.opts.maxHeaderBytes,
      requestTimeout: this.opts.requestTimeoutMs,
      headersTimeout: Math.min(this.opts.requestTimeoutMs, 10_000),
      connectionsCheckingInterval: Math.min(1000, this.opts.requestTimeoutMs),
      // Checked in checkRequestHead instead: node's own 400 would carry no decision id and no event.
      requireHostHeader: false,
      joinDuplicateHeaders: false,
      insecureHTTPParser: false,
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      this.dispatch(req, res, false),
    );
    // Without these listeners node answers 100 Continue before authentication, and 417 by itself
    // (no decision id, no event). With them, every such call goes through the pipeline, and a
    // caller is invited to send its body only once it is authenticated and addresses a connection.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
      this.dispatch(req, res, true),
    );
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      const meta = this.meta(req, summaryPath(req.url ?? ''), null);
      const decision = this.pipeline.reject(meta, 'only "Expect: 100-continue" is supported');
      this.refuse(res, decision, 417, true);
    });
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) =>
      this.onClientError(err, socket),
    );
    // CONNECT and Upgrade would bypass request handling entirely; refuse them explicitly.
    server.on('connect', (req: IncomingMessage, socket: Duplex) =>
      this.refuseRaw(req, socket, 405, 'method CONNECT is not allowed'),
    );
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) =>
      this.refuseRaw(req, socket, 400, 'protocol upgrades are not supported'),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    this.server = server;
  }

  /** Stops accepting, lets in-flight calls finish (bounded), then closes what is left. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeIdleConnections();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const timer = setTimeout(() => server.closeAllConnections(), 5000);
    await closed;
    clearTimeout(timer);
    for (const agent of this.agents.values()) agent.destroy();
  }

  health(): Health {
    return this.server
      ? { state: 'ok', detail: `listening on ${this.opts.host}:${this.boundPort}` }
      : { state: 'stopped' };
  }

  private meta(req: IncomingMessage, path: string, connectionName: string | null): CallMeta {
    return newMeta(req.socket.remoteAddress ?? '', req.method ?? '', path, connectionName);
  }

  /**
   * Runs one call and guarantees it ends: a handler bug must neither crash the process (an
   * unhandled rejection) nor leave the caller hanging; it becomes a 500 or a destroyed socket.
   */
  private dispatch(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const socket = req.socket;
    const call: InFlight = { res, clientErrorStatus: null, decisionId: null };
    let calls = this.inFlight.get(socket);
    if (!calls) this.inFlight.set(socket, (calls = new Set()));
    calls.add(call);
    const settle = () => calls.delete(call);
    res.once('finish', settle);
    res.once('close', settle);
    this.handle(req, res, call, expectsContinue).catch((err: unknown) => {
      this.logger.error('request handling failed unexpectedly', { error: errorMessage(err) });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const meta = this.meta(req, summaryPath(req.url ?? ''), null);
      const decision = this.pipeline.internalError(meta, 'internal error');
      sendJson(res.setHeader('connection', 'close'), 500, meta.decisionId, {
        error: { code: 'internal_error', message: 'internal error' },
      });
      this.pipeline.complete(decision, { status: 500 });
    });
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    call: InFlight,
    expectsContinue: boolean,
  ): Promise<void> {
    const head = checkRequestHead(req);
    if (!head.ok) {
      const meta = this.meta(req, summaryPath(req.url ?? ''), null);
      if (head.status === 405) res.setHeader('allow', [...ALLOWED_METHODS].join(', '));
      return this.refuse(res, this.pipeline.reject(meta, head.reason), head.status, true);
    }
    const target = canonicalizeTarget(head.target);
    if (!target.ok) {
      const meta = this.meta(req, summaryPath(head.target), null);
      return this.refuse(res, this.pipeline.reject(meta, target.reason), 400, true);
    }
    const meta = this.meta(req, target.path, target.connection === '' ? null : target.connection);
    if (target.rawQuery !== null) meta.summary.query = redactQueryString(target.rawQuery);
    call.decisionId = meta.decisionId;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.opts.maxBodyBytes) {
      return this.refuse(
        res,
        this.pipeline.reject(meta, `request body larger than ${this.opts.maxBodyBytes} bytes`),
        413,
        true,
      );
    }
    const unsupported = unsupportedRequestBody(req.headers);
    if (unsupported !== null) {
      return this.refuse(res, this.pipeline.reject(meta, unsupported), 415, true);
    }
    // Authenticate before revealing whether a connection exists.
    const identity = await this.authenticate(req);
    const connection = this.opts.connections.get(target.connection);
    const upstream = connection ? this.upstreamFor(connection) : null;
    let body: Buffer | null = null;
    if (identity.ok && upstream) {
      if (expectsContinue) res.writeContinue();
      // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3):
      // nothing to wait for.
      const read = expectsContinue || hasBodyFraming(req) ? await this.readBody(req) : NO_BODY;
      if (read === 'too_large') {
        return this.refuse(
          res,
          this.pipeline.reject(meta, `request body larger than ${this.opts.maxBodyBytes} bytes`),
          413,
          true,
        );
      }
      if (read === 'aborted') {
        // Still one event per call: 408 when the request timed out, else the caller went away (499).
        const status = call.clientErrorStatus ?? 499;
        const reason =
          status === 408
            ? 'request body not received in time'
            : 'caller closed the connection before sending the whole body';
        this.pipeline.complete(this.pipeline.reject(meta, reason), { status });
        if (!res.headersSent) res.destroy();
        return;
      }
      body = read;
    }
    // The connection's own credential header is the caller's to lose, like Authorization.
    const { kept, erased } = keptHeaders(req.rawHeaders, upstream?.credentialHeader ?? null);
    const facts: CallFacts = {
      bytesIn: body?.length ?? 0,
      bytesOut: 0,
      upstreamStatus: null,
      masked: null,
      requestBody: body === null ? null : captured(body, req.headers['content-type']),
      responseBody: null,
      erasedHeaders: erased,
    };
    const request: JsonObject = {
      method: req.method ?? '',
      path: target.path,
      query: target.query,
      headers: policyHeaders(kept),
      body: parseBody(body, req.headers['content-type']),
    };
    let decision = this.pipeline.decide({
      ...meta,
      identity,
      connection: connection
        ? { name: connection.name, type: 'http', labels: connection.labels }
        : null,
      request,
    });
    if (decision.forward && connection?.credentials === 'unavailable') {
      decision = this.pipeline.fail(
        decision,
        'connection_unavailable',
        `connection "${connection.name}" has no credentials usable by this enforcer yet`,
      );
    }
    if (decision.obligations.approval && decision.code === null && upstream && identity.ok) {
      return this.escalate(req, res, decision, upstream, kept, target, body, facts);
    }
    if (!decision.forward || !upstream) {
      // A body left unread would be drained by node for as long as the caller keeps sending it
      // (and a timeout then would answer twice): close instead of keeping the connection alive.
      const unread = body === null && (expectsContinue || hasBodyFraming(req));
      return this.refuse(
        res,
        decision,
        statusFor(decision.code),
        unread,
        identity.ok ? undefined : identity.code,
        facts,
      );
    }
    this.forward(req, res, decision, upstream, kept, target.path, target.rawQuery, body, facts);
  }

  private async authenticate(req: IncomingMessage): Promise<IdentityResult> {
    try {
      const values = headerValues(req.rawHeaders, 'authorization');
      const token = TokenVerifier.bearer(values.length > 1 ? values : values[0]);
      return { ok: true, identity: await this.verifier.verify(token) };
    } catch (err) {
      if (err instanceof AuthenticationError)
        return { ok: false, code: err.code, message: err.message };
      this.logger.error('token verification failed unexpectedly', { error: errorMessage(err) });
      return { ok: false, code: 'jwks_unavailable', message: 'token could not be verified' };
    }
  }

  /** Buffers the whole body up to the cap: the policy may look at it, and nothing goes upstream before the decision. */
  private readBody(req: IncomingMessage): Promise<Buffer | 'too_large' | 'aborted'> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (v: Buffer | 'too_large' | 'aborted') => {
        if (done) return;
        done = true;
        req.off('data', onData);
        resolve(v);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.opts.maxBodyBytes) {
          req.pause();
          finish('too_large');
          return;
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => finish(Buffer.concat(chunks, size)));
      req.once('error', () => finish('aborted'));
      req.once('close', () => finish(req.complete ? Buffer.concat(chunks, size) : 'aborted'));
    });
  }

  /**
   * A call the policy escalated. With `Portcullis-Approval: <id>` it runs only if that approval is
   * granted for exactly this call and can be consumed now; otherwise an approval request is
   * created, the caller is held for up to `Prefer: wait=N` seconds (capped), and answered 202
   * with where to look if nobody decided in time. Nothing is forwarded on any doubt.
   */
  private async escalate(
    req: IncomingMessage,
    res: ServerResponse,
    decision: Decision,
    upstream: Upstream,
    kept: Map<string, string[]>,
    target: { path: string; rawQuery: string | null },
    body: Buffer | null,
    facts: CallFacts,
  ): Promise<void> {
    const approval = decision.obligations.approval;
    const identity = decision.input?.identity;
    if (!approval || !identity) {
      throw new Error('escalate needs an approval obligation and an identity');
    }
    const presented = headerValues(req.rawHeaders, 'portcullis-approval');
    if (presented.length > 1) {
      const refused = this.pipeline.fail(
        decision,
        'approval_invalid',
        'send at most one Portcullis-Approval header',
      );
      return this.refuse(res, refused, statusFor(refused.code), false, undefined, facts);
    }
    const presentedId = presented.length === 1 ? presented[0].trim() : null;
    const asked = presentedId === null ? preferredWait(req.rawHeaders) : 0;
    // Held calls pin sockets and bodies: past the cap, answer 202 at once instead of holding.
    const hold = asked > 0 && this.held < this.opts.approvals.maxHeld;
    const waitSeconds = hold ? Math.min(asked, this.opts.approvals.maxWaitSeconds) : 0;
    if (hold) this.held++;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once('close', onClose);
    const result = await this.opts.approvals.escalator
      .escalate({
        decision,
        approval,
        connection: upstream.connection.name,
        fingerprint: approvalFingerprint({
          issuer: identity.issuer,
          subject: identity.subject,
          connection: upstream.connection.name,
          method: req.method ?? '',
          path: target.path,
          query: target.rawQuery,
          body: body ?? new Uint8Array(0),
        }),
        request: {
          method: req.method ?? '',
          path: target.path,
          query: decision.meta.summary.query ?? null,
          body: decision.input?.request.body ?? null,
        },
        presentedId,
        waitMs: waitSeconds * 1000,
        signal: gone.signal,
      })
      .finally(() => {
        if (hold) this.held--;
        res.off('close', onClose);
      });
    facts.approval = approvalLink(result);
    if (res.destroyed) {
      this.pipeline.complete(decision, { status: 499, call: facts });
      return;
    }
    switch (result.kind) {
      case 'approved': {
        // The connection as it is now: a call held for minutes must not use credentials that
        // were rotated or revoked meanwhile, nor go out without them.
        const now = this.opts.connections.get(upstream.connection.name);
        if (now === null || now.credentials === 'unavailable') {
          const failed = this.pipeline.fail(
            decision,
            'connection_unavailable',
            `connection "${upstream.connection.name}" is ${now === null ? 'gone' : 'without usable credentials'} after the approval`,
          );
          return this.refuse(res, failed, statusFor(failed.code), false, undefined, facts);
        }
        return this.forward(
          req,
          res,
          this.pipeline.approved(decision),
          this.upstreamFor(now),
          kept,
          target.path,
          target.rawQuery,
          body,
          facts,
        );
      }
      case 'pending': {
        const pending = this.pipeline.fail(decision, 'approval_pending', 'approval required');
        return this.pending(res, pending, result.approval, facts);
      }
      case 'refused': {
        const refused = this.pipeline.fail(
          decision,
          'approval_invalid',
          `approval cannot be used: ${result.code} (${result.message})`,
        );
        return this.refuse(res, refused, statusFor(refused.code), false, undefined, facts);
      }
      case 'unavailable': {
        const failed = this.pipeline.fail(
          decision,
          'approval_unavailable',
          'the approval service cannot be reached; the call was not forwarded',
        );
        return this.refuse(res, failed, statusFor(failed.code), false, undefined, facts);
      }
    }
  }

  /** 202: the call waits for a human; the body says where to look and how to retry. */
  private pending(
    res: ServerResponse,
    decision: Decision,
    approval: { approval_id: string; status: string; expires_at: string },
    facts: CallFacts,
  ): void {
    const statusUrl = `${this.opts.approvals.controlPlaneUrl}/v1/approvals/${approval.approval_id}/status`;
    res.setHeader('retry-after', '5');
    res.setHeader('location', statusUrl);
    sendJson(res, 202, decision.meta.decisionId, {
      approval_id: approval.approval_id,
      status: approval.status,
      expires_at: approval.expires_at,
      status_url: statusUrl,
      reasons: decision.reasons,
      retry_with: { header: 'Portcullis-Approval', value: approval.approval_id },
    });
    this.metrics.proxySeconds.observe(
      { outcome: decision.outcome },
      Number(process.hrtime.bigint() - decision.meta.startNs) / 1e9,
    );
    this.pipeline.complete(decision, { status: 202, call: facts });
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    decision: Decision,
    upstream: Upstream,
    kept: Map<string, string[]>,
    path: string,
    rawQuery: string | null,
    body: Buffer | null,
    facts: CallFacts,
  ): void {
    const decisionId = decision.meta.decisionId;
    if (res.destroyed) {
      // The caller left while the call was being decided (authentication, a held approval):
      // nothing goes upstream, and the one event says so.
      this.pipeline.complete(decision, { status: 499, call: facts });
      return;
    }
    const mask = decision.obligations.mask;
    const hasBody =
      body !== null &&
      (body.length > 0 ||
        req.headers['content-length'] !== undefined ||
        req.headers['transfer-encoding'] !== undefined);
    const url = upstream.connection.url;
    // What the upstream could echo back to the caller: never let the credential out that way.
    const { injected, needles, scanFor } = upstream;
    const headers: OutgoingHttpHeaders = upstreamHeaders(kept, {
      upstreamHost: url.host,
      sourceIp: decision.meta.sourceIp,
      decisionId,
      bodyLength: hasBody && body ? body.length : null,
      credentials: injected,
      // A masked body must be decodable and whole: ask only for codings we undo, never a range.
      ...(mask ? { acceptEncoding: DECODABLE_CODINGS } : {}),
      plainBody: scanFor.length > 0,
    });
    let recorded = false;
    const record = (
      status: number,
      error?: { code: 'upstream_failed' | 'masking_failed'; message: string },
    ) => {
      if (recorded) return;
      recorded = true;
      this.pipeline.complete(
        decision,
        error ? { status, error, call: facts } : { status, call: facts },
      );
    };
    this.metrics.proxySeconds.observe(
      { outcome: decision.outcome },
      Number(process.hrtime.bigint() - decision.meta.startNs) / 1e9,
    );
    const upstreamReq = upstream.request({
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      method: req.method,
      path: `${upstream.basePath}${path}${rawQuery !== null ? `?${rawQuery}` : ''}`,
      headers,
      agent: upstream.agent,
    });
    upstreamReq.setTimeout(this.opts.upstreamTimeoutMs, () =>
      upstreamReq.destroy(new UpstreamTimeout()),
    );
    /** Answers 502 (or cuts the response short) and records once, whatever state it is in. */
    const fail = (code: 'upstream_failed' | 'masking_failed', message: string) => {
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 502, decisionId, { error: { code, message } });
      } else res.destroy();
      record(502, { code, message });
    };
    upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
      upstreamRes.on('error', () => undefined);
      try {
        respond(upstreamRes);
      } catch (err) {
        // A bug or an answer node cannot relay must neither crash the process nor hang the caller.
        this.logger.error('upstream response could not be relayed', {
          decision_id: decisionId,
          error: errorMessage(err),
        });
        upstreamRes.destroy();
        fail('upstream_failed', 'upstream response could not be relayed');
      }
    });
    const respond = (upstreamRes: IncomingMessage): void => {
      const status = upstreamRes.statusCode ?? 502;
      facts.upstreamStatus = status;
      if (!Number.isInteger(status) || status < 100 || status > 599) {
        this.metrics.upstreamFailures.inc({ reason: 'bad_status' });
        upstreamRes.destroy();
        fail('upstream_failed', `upstream answered with an invalid status (${status})`);
        return;
      }
      if (mask) {
        const bodyAllowed = req.method !== 'HEAD' && status !== 204 && status !== 304;
        this.opts.responseMasker
          .mask(upstreamRes, mask, bodyAllowed)
          .then(
            (out) => {
              // Already answered (an upstream timeout after the head) or the caller is gone.
              if (recorded || res.headersSent || res.destroyed) return;
              if (!out.ok && out.upstreamBrokeOff) {
                this.metrics.upstreamFailures.inc({ reason: 'broke_off' });
                fail('upstream_failed', 'upstream response broke off');
                return;
              }
              if (!out.ok) {
                this.metrics.maskedResponses.inc({ result: 'failed' });
                facts.bytesOut = 0;
                this.logger.warn('response could not be masked', {
                  decision_id: decisionId,
                  connection: upstream.connection.name,
                  error: out.message,
                });
                const message = `response withheld: ${out.message}`;
                sendJson(res, 502, decisionId, { error: { code: 'masking_failed', message } });
                record(502, { code: 'masking_failed', message });
                return;
              }
              const replaced = out.report.fields + sumCounts(out.report.detectors);
              this.metrics.maskedResponses.inc({ result: replaced > 0 ? 'masked' : 'unchanged' });
              facts.masked = out.report;
              facts.bytesOut = out.body.length;
              facts.responseBody = {
                data: out.body,
                contentType: headerString(upstreamRes.headers['content-type']),
                bytes: out.body.length,
                complete: !out.truncated,
                masked: true,
              };
              redactInPlace(out.body, scanFor);
              const headers = withoutCredentialHeaders(
                responseHeaders(out.headers, decisionId),
                needles,
              );
              // Set after responseHeaders, which strips the upstream's x-portcullis-* headers.
              if (out.truncated) headers['x-portcullis-truncated'] = 'true';
              res.writeHead(status, headers);
              res.on('finish', () => record(status));
              res.end(out.body);
            },
            (err: unknown) => {
              this.logger.error('response masking failed unexpectedly', {
                decision_id: decisionId,
                error: errorMessage(err),
              });
              upstreamRes.destroy();
              fail('masking_failed', 'response withheld: masking failed');
            },
          )
          .catch((err: unknown) => {
            this.logger.error('masked response could not be sent', {
              decision_id: decisionId,
              error: errorMessage(err),
            });
            fail('masking_failed', 'response withheld: masking failed');
          });
        return;
      }
      if (scanFor.length > 0 && hasContentCoding(upstreamRes.headers['content-encoding'])) {
        // Asked for an uncoded body and got a coded one: it cannot be searched for the credential.
        upstreamRes.destroy();
        const message =
          'response withheld: the upstream sent a coded body that cannot be checked for the injected credential';
        sendJson(res, 502, decisionId, { error: { code: 'masking_failed', message } });
        record(502, { code: 'masking_failed', message });
        return;
      }
      res.writeHead(
        status,
        withoutCredentialHeaders(responseHeaders(upstreamRes.headers, decisionId), needles),
      );
      const capture = decision.obligations.record.response_body
        ? new PrefixCapture(this.opts.recordMaxBytes)
        : null;
      // What the caller receives (after any credential redaction) is what is counted and kept.
      const delivered =
        scanFor.length > 0 ? upstreamRes.pipe(new CredentialRedactor(scanFor)) : upstreamRes;
      delivered.on('data', (chunk: Buffer) => {
        facts.bytesOut += chunk.length;
        capture?.add(chunk);
      });
      delivered.pipe(res);
      upstreamRes.on('aborted', () => {
        this.metrics.upstreamFailures.inc({ reason: 'broke_off' });
        record(status, { code: 'upstream_failed', message: 'upstream response broke off' });
        res.destroy();
      });
      res.on('finish', () => {
        if (capture) facts.responseBody = capture.captured(upstreamRes.headers);
        record(status);
      });
    };
    upstreamReq.on('error', (err: Error & { code?: string }) => {
      const timeout = err instanceof UpstreamTimeout;
      this.metrics.upstreamFailures.inc({
        reason: timeout ? 'timeout' : (err.code ?? 'error').toLowerCase(),
      });
      const message = timeout
        ? `upstream did not answer within ${this.opts.upstreamTimeoutMs} ms`
        : `upstream unreachable (${err.code ?? 'error'})`;
      if (res.headersSent) {
        record(res.statusCode, { code: 'upstream_failed', message });
        res.destroy();
        return;
      }
      const status = timeout ? 504 : 502;
      this.logger.warn('upstream failed', {
        decision_id: decisionId,
        connection: upstream.connection.name,
        error: message,
      });
      sendJson(res, status, decisionId, { error: { code: 'upstream_failed', message } });
      record(status, { code: 'upstream_failed', message });
    });
    // A caller that goes away takes its upstream call with it.
    res.on('close', () => {
      if (!res.writableFinished) {
        upstreamReq.destroy();
        // Not an upstream failure: the decision stands; 499 (nginx's "client closed request") marks it.
        record(499);
      }
    });
    upstreamReq.end(hasBody && body ? body : undefined);
  }

  /**
   * Answers a call that is not forwarded. `authCode` (an AuthenticationError code) replaces the
   * generic code on 401s, because it tells the caller what to fix (expired, wrong audience …).
   */
  private refuse(
    res: ServerResponse,
    decision: Decision,
    status: RejectStatus,
    closeConnection: boolean,
    authCode?: string,
    facts?: CallFacts,
  ): void {
    const decisionId = decision.meta.decisionId;
    if (closeConnection) res.setHeader('connection', 'close');
    let payload: JsonObject;
    if (decision.code === null) {
      payload = { error: { code: 'denied', message: decision.message }, reasons: decision.reasons };
    } else if (authCode !== undefined) {
      res.setHeader('www-authenticate', 'Bearer realm="portcullis", error="invalid_token"');
      payload = { error: { code: authCode, message: decision.message } };
    } else {
      payload = { error: { code: decision.code, message: decision.message } };
    }
    sendJson(res, status, decisionId, payload);
    this.metrics.proxySeconds.observe(
      { outcome: decision.outcome },
      Number(process.hrtime.bigint() - decision.meta.startNs) / 1e9,
    );
    this.pipeline.complete(decision, facts ? { status, call: facts } : { status });
  }

  /**
   * Parse errors and timeouts. Before a request exists (oversized headers, malformed syntax) the
   * answer is the call's one decision. On a socket whose call is already being handled (a timeout
   * or parse error in its body) the handler records that call; this only answers, if nothing was
   * sent yet, and closes.
   */
  private onClientError(err: Error & { code?: string }, socket: Duplex): void {
    const status: RejectStatus =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
    const calls = this.inFlight.get(socket);
    if (calls && calls.size > 0) {
      // The caller hanging up mid-body is not a malformed request: the handler records 499.
      if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE') {
        socket.destroy();
        return;
      }
      for (const call of calls) call.clientErrorStatus ??= status;
      const pending = [...calls];
      const answered = pending.some((c) => c.res.headersSent);
      if (!answered && socket.writable) {
        const reason = clientErrorReason(status, this.opts);
        socket.end(rawResponse(status, 'bad_request', reason, pending[0].decisionId));
      }
      socket.destroy();
      return;
    }
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    this.writeRaw(
      socket,
      status,
      clientErrorReason(status, this.opts),
      (socket as Socket).remoteAddress ?? '',
    );
  }

  private refuseRaw(req: IncomingMessage, socket: Duplex, status: 400 | 405, reason: string): void {
    this.writeRaw(socket, status, reason, req.socket.remoteAddress ?? '', req.method ?? '');
  }

  private writeRaw(
    socket: Duplex,
    status: RejectStatus,
    reason: string,
    sourceIp: string,
    method = '',
  ): void {
    const meta = newMeta(sourceIp, method, '', null);
    const decision = this.pipeline.reject(meta, reason);
    socket.end(rawResponse(status, 'bad_request', reason, meta.decisionId));
    this.pipeline.complete(decision, { status });
  }
}

/** The identity of one call from its arrival: a fresh decision id and the clocks it is timed by. */
function newMeta(
  sourceIp: string,
  method: string,
  path: string,
  connectionName: string | null,
): CallMeta {
  return {
    decisionId: randomUUID(),
    protocol: 'http',
    startNs: process.hrtime.bigint(),
    receivedAt: Date.now(),
    sourceIp,
    summary: { method, path },
    connectionName,
  };
}

function clientErrorReason(status: RejectStatus, opts: HttpAdapterOptions): string {
  if (status === 431) return `request headers larger than ${opts.maxHeaderBytes} bytes`;
  if (status === 408) return 'request not received in time';
  return 'malformed HTTP request';
}

/**
 * A complete JSON error response as bytes, for sockets node's ServerResponse no longer serves.
 * `decisionId` is null when the call it answers records its own event (and id) elsewhere.
 */
function rawResponse(
  status: RejectStatus,
  code: string,
  reason: string,
  decisionId: string | null,
): string {
  const body = JSON.stringify({
    error: { code, message: reason },
    ...(decisionId ? { decision_id: decisionId } : {}),
  });
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    (decisionId ? `x-portcullis-decision-id: ${decisionId}\r\n` : '') +
    `connection: close\r\n\r\n${body}`
  );
}

/** Whether the request announces a body (whose bytes node would otherwise drain after the response). */
function hasBodyFraming(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

const NO_BODY = Buffer.alloc(0);

class UpstreamTimeout extends Error {
  constructor() {
    super('upstream timeout');
  }
}

const STATUS_TEXT: Record<RejectStatus, string> = {
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The one place a pipeline code becomes an HTTP status; `null` is a policy deny. */
function statusFor(code: DecisionErrorCode | null): RejectStatus {
  if (code === null) return 403;
  switch (code) {
    case 'unauthenticated':
      return 401;
    case 'bad_request':
      return 400;
    case 'unknown_connection':
      return 404;
    case 'no_policy':
    case 'connection_unavailable':
    case 'approval_unavailable':
      return 503;
    case 'approval_pending':
      return 202;
    case 'approval_invalid':
      return 403;
    case 'evaluation_failed':
    case 'malformed_decision':
    case 'internal_error':
      return 500;
    case 'upstream_failed':
    case 'masking_failed':
      return 502;
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  decisionId: string,
  payload: JsonObject,
): void {
  const body = JSON.stringify({ ...payload, decision_id: decisionId });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-portcullis-decision-id': decisionId,
    'cache-control': 'no-store',
  });
  res.end(body);
}

function hasContentCoding(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '' && value.trim().toLowerCase() !== 'identity';
}

/** The approval a call's record links, whatever became of the escalation. */
function approvalLink(result: Escalation): CallFacts['approval'] {
  switch (result.kind) {
    case 'approved':
      return { id: result.approval.approval_id, status: 'consumed' };
    case 'pending':
      return { id: result.approval.approval_id, status: result.approval.status };
    case 'refused':
    case 'unavailable':
      return result.approvalId === null
        ? undefined
        : {
            id: result.approvalId,
            status: result.kind === 'refused' ? result.code : 'unavailable',
          };
  }
}

/**
 * Seconds the caller is willing to wait, from RFC 7240 `Prefer: wait=N` (possibly among other
 * preferences, in several headers); 0 when absent or malformed.
 */
function preferredWait(raw: string[]): number {
  for (const value of headerValues(raw, 'prefer')) {
    for (const pref of value.split(/[,;]/)) {
      const m = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*$/i.exec(pref);
      if (m) return Number(m[1]);
    }
  }
  return 0;
}

/** The caller's request body as the call record may keep it. */
function captured(body: Buffer, contentType: string | undefined): CapturedBody {
  return { data: body, contentType, bytes: body.length, complete: true, masked: false };
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sumCounts(counts: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}

/**
 * The first bytes of a piped response, for a `record` obligation without masking. A body with a
 * content coding is withheld from the record (its bytes could hide anything from the log mask).
 */
class PrefixCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;

  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.kept >= this.max) return;
    const part =
      chunk.length > this.max - this.kept ? chunk.subarray(0, this.max - this.kept) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  captured(headers: IncomingMessage['headers']): CapturedBody {
    const coding = headers['content-encoding'];
    const coded = coding !== undefined && coding.trim().toLowerCase() !== 'identity';
    return {
      data: coded ? Buffer.alloc(0) : Buffer.concat(this.chunks, this.kept),
      contentType: headerString(headers['content-type']),
      bytes: this.total,
      complete: !coded && this.kept === this.total,
      masked: false,
    };
  }
}

/** `request.body` for the policy: parsed JSON when declared and valid, else the raw text, or null when empty. */
function parseBody(body: Buffer | null, contentType: string | undefined): unknown {
  if (body === null || body.length === 0) return null;
  const text = body.toString('utf8');
  if (contentType && /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
