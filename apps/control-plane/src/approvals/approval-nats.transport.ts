import { randomUUID } from 'node:crypto';
import type { Msg } from '@nats-io/transport-node';
import {
  Transport,
  type ConsumerDeserializer,
  type ConsumerSerializer,
  type IncomingRequest,
  type NatsOptions,
  type OutgoingResponse,
} from '@nestjs/microservices';
import { APPROVAL_QUEUE_GROUP, type ApprovalReply } from '@portcullis/contracts';
import type { ControlPlaneConfig } from '../config/control-plane.config';
import { natsConnectTarget } from '../nats/nats-connect.options';

/** A message body that is not JSON; the handler answers `invalid_request` for it. */
export class NotJsonMessage {
  readonly reason = 'message is not JSON';
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Our wire format is plain JSON (libs/contracts/src/approvals.ts), not Nest's
 * `{pattern, data, id}` envelope: the enforcer sends the request object with `nc.request`. Each
 * message becomes a Nest request `{pattern: <subject>, data: <parsed JSON>, id}`. Every message
 * gets an id, so Nest routes it as a request (a message without a reply subject is then simply
 * answered to nobody) and never as an event.
 */
export class RawJsonNatsDeserializer implements ConsumerDeserializer {
  deserialize(msg: Msg, options?: Record<string, unknown>): IncomingRequest {
    let data: unknown;
    try {
      data = JSON.parse(decoder.decode(msg.data));
    } catch {
      data = new NotJsonMessage();
    }
    const channel = options?.channel;
    return { pattern: typeof channel === 'string' ? channel : msg.subject, data, id: randomUUID() };
  }
}

/** Fallback when a handler produced no reply or failed inside Nest (handlers never throw). */
const UNAVAILABLE: ApprovalReply = {
  ok: false,
  error: { code: 'unavailable', message: 'the control plane could not answer; retry' },
};

/**
 * The reply is the handler's ApprovalReply itself, as JSON, without Nest's
 * `{response, isDisposed, id}` envelope. Nest folds "stream complete" into the one reply packet
 * for a handler returning a promise, so the requester gets exactly one message.
 */
export class RawJsonNatsSerializer implements ConsumerSerializer {
  serialize(packet: OutgoingResponse): { data: string; headers: undefined } {
    const response = packet.response as unknown;
    const reply = packet.err === undefined && response !== undefined ? response : UNAVAILABLE;
    return { data: JSON.stringify(reply), headers: undefined };
  }
}

/**
 * The NATS microservice that answers enforcers' approval requests: the control plane's NATS_URL
 * and login (the same user as its main connection, see nats-connect.options.ts), queue group {@link APPROVAL_QUEUE_GROUP} (each request goes to one replica), raw JSON both ways.
 */
export function approvalMicroserviceOptions(config: ControlPlaneConfig): NatsOptions {
  return {
    transport: Transport.NATS,
    options: {
      ...natsConnectTarget(config),
      name: 'portcullis-control-plane-approvals',
      queue: APPROVAL_QUEUE_GROUP,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      serializer: new RawJsonNatsSerializer(),
      deserializer: new RawJsonNatsDeserializer(),
    },
  };
}
