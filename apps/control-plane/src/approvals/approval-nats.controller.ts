import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  APPROVAL_SUBJECTS,
  ContractViolation,
  parseApprovalConsumeRequest,
  parseApprovalCreateRequest,
  parseApprovalLookupRequest,
  type ApprovalReply,
} from '@portcullis/contracts';
import { Logger, errorMessage, redactUrl } from '@portcullis/platform';
import { Public } from '../auth/public.decorator';
import { DatabaseErrorClassifier } from '../database/database-error.classifier';
import { NotJsonMessage } from './approval-nats.transport';
import { ApprovalMetrics } from './approval.metrics';
import { ApprovalService } from './approval.service';

type Verb = 'create' | 'get' | 'consume';

/**
 * The enforcers' side of approvals, over NATS request-reply (queue group, raw JSON: see
 * approval-nats.transport.ts). Thin: validate with the contract's parser, call the service,
 * reply. Nothing is thrown across the wire: a message that breaks the contract is answered
 * `invalid_request`, any failure `unavailable` (the enforcer then fails closed).
 * `@Public()`: the HTTP bearer guard does not apply; NATS accounts authorize these subjects.
 */
@Public()
@Controller()
export class ApprovalNatsController {
  private readonly logger: Logger;

  constructor(
    private readonly approvals: ApprovalService,
    private readonly metrics: ApprovalMetrics,
    logger: Logger,
  ) {
    this.logger = logger.child('approvals');
  }

  @MessagePattern(APPROVAL_SUBJECTS.create)
  create(@Payload() data: unknown): Promise<ApprovalReply> {
    return this.answer('create', data, (d) => this.approvals.create(parseApprovalCreateRequest(d)));
  }

  @MessagePattern(APPROVAL_SUBJECTS.get)
  get(@Payload() data: unknown): Promise<ApprovalReply> {
    return this.answer('get', data, (d) => this.approvals.state(parseApprovalLookupRequest(d)));
  }

  @MessagePattern(APPROVAL_SUBJECTS.consume)
  consume(@Payload() data: unknown): Promise<ApprovalReply> {
    return this.answer('consume', data, (d) =>
      this.approvals.consume(parseApprovalConsumeRequest(d)),
    );
  }

  private async answer(
    verb: Verb,
    data: unknown,
    run: (data: unknown) => Promise<ApprovalReply>,
  ): Promise<ApprovalReply> {
    let reply: ApprovalReply;
    if (data instanceof NotJsonMessage) {
      reply = { ok: false, error: { code: 'invalid_request', message: data.reason } };
    } else {
      try {
        reply = await run(data);
      } catch (err) {
        reply = this.failure(verb, err);
      }
    }
    this.metrics.natsRequests.inc({ subject: verb, result: reply.ok ? 'ok' : reply.error.code });
    return reply;
  }

  private failure(verb: Verb, err: unknown): ApprovalReply {
    if (err instanceof ContractViolation)
      return { ok: false, error: { code: 'invalid_request', message: err.message } };
    const error = redactUrl(errorMessage(err));
    if (DatabaseErrorClassifier.isUnavailable(err)) {
      this.logger.warn('approval request failed: database unavailable', { verb, error });
    } else {
      this.logger.error('approval request failed', { verb, error });
    }
    return {
      ok: false,
      error: {
        code: 'unavailable',
        message: 'the control plane cannot serve approvals now; retry',
      },
    };
  }
}
