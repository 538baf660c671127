import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  APPROVAL_SUBJECTS,
  approvalChangedSubject,
  parseApprovalReply,
  parseApprovalState,
  type ApprovalConsumeRequest,
  type ApprovalCreateRequest,
  type ApprovalReply,
  type ApprovalState,
} from '@portcullis/contracts';
import { errorMessage } from '@portcullis/platform';

/** The part of the enforcer's NATS client the approval client needs. */
export interface ApprovalNats {
  isConnected(): boolean;
  whenConnected(): Promise<NatsConnection>;
}

/** The control plane could not be asked (NATS down, no responder, timeout, garbled reply). */
export class ApprovalUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalUnavailableError';
  }
}

/**
 * Request-reply with the control plane's approval handlers (libs/contracts approvals.ts): plain
 * JSON both ways, every reply validated. Anything but a well-formed reply is
 * {@link ApprovalUnavailableError}, which the caller turns into a fail-closed answer.
 */
export class ApprovalClient {
  constructor(
    private readonly nats: ApprovalNats,
    private readonly timeoutMs: number,
  ) {}

  create(request: ApprovalCreateRequest): Promise<ApprovalReply> {
    return this.request(APPROVAL_SUBJECTS.create, request);
  }

  get(approvalId: string): Promise<ApprovalReply> {
    return this.request(APPROVAL_SUBJECTS.get, { approval_id: approvalId });
  }

  consume(request: ApprovalConsumeRequest): Promise<ApprovalReply> {
    return this.request(APPROVAL_SUBJECTS.consume, request);
  }

  /**
   * Resolves with the request's state once it is no longer pending, or null when `waitMs`
   * passes first. Subscribes to change notices before asking for the current state, so a
   * decision made in between is not missed; the lookup also covers a lost notice at the end.
   */
  async waitWhilePending(
    approvalId: string,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ApprovalState | null> {
    const nc = await this.connection();
    let sub: Subscription;
    try {
      sub = nc.subscribe(approvalChangedSubject(approvalId), { max: 1_000 });
    } catch (err) {
      throw new ApprovalUnavailableError(
        `cannot subscribe to approval notices: ${errorMessage(err)}`,
      );
    }
    const deadline = Date.now() + waitMs;
    try {
      const settled = async (): Promise<ApprovalState | null> => {
        const reply = await this.get(approvalId);
        if (!reply.ok) throw new ApprovalUnavailableError(reply.error.message);
        return reply.approval.status === 'pending' ? null : reply.approval;
      };
      const now = await settled();
      if (now) return now;
      const notice = new Promise<ApprovalState | null>((resolve) => {
        const done = (state: ApprovalState | null) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(state);
        };
        const onAbort = () => done(null);
        const timer = setTimeout(() => done(null), Math.max(0, deadline - Date.now()));
        signal?.addEventListener('abort', onAbort, { once: true });
        void (async () => {
          try {
            for await (const msg of sub) {
              try {
                const state = parseApprovalState(msg.json());
                if (state.status !== 'pending') return done(state);
              } catch {
                // A garbled notice is ignored; the final lookup below still answers.
              }
            }
          } catch {
            // The subscription failed (a permissions violation, say): stop listening; the
            // final lookup below still answers, and nothing escapes as an unhandled rejection.
          }
          done(null);
        })();
      });
      const noticed = await notice;
      if (signal?.aborted) return null;
      return noticed ?? (await settled());
    } finally {
      sub.unsubscribe();
    }
  }

  private async connection(): Promise<NatsConnection> {
    if (!this.nats.isConnected()) {
      throw new ApprovalUnavailableError(
        'not connected to NATS: the control plane cannot be asked',
      );
    }
    return this.nats.whenConnected();
  }

  private async request(subject: string, body: unknown): Promise<ApprovalReply> {
    const nc = await this.connection();
    let raw: unknown;
    try {
      const msg = await nc.request(subject, JSON.stringify(body), { timeout: this.timeoutMs });
      raw = msg.json();
    } catch (err) {
      throw new ApprovalUnavailableError(
        `control plane did not answer on ${subject}: ${errorMessage(err)}`,
      );
    }
    try {
      return parseApprovalReply(raw);
    } catch (err) {
      throw new ApprovalUnavailableError(
        `control plane sent a malformed reply: ${errorMessage(err)}`,
      );
    }
  }
}
