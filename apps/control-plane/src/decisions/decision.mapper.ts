import type { CallRecord, DecisionEvent, LogMaskReport, RecordedBody } from '@portcullis/contracts';
import { CallDto } from './call.dto';
import type { CallRecordEntity } from './call-record.entity';
import type { DecisionEntity } from './decision.entity';
import {
  DecisionDto,
  type CallRecordDto,
  type DecisionApprovalDto,
  type DecisionRequestDto,
  type LogMaskDto,
  type MaskedSummaryDto,
  type RecordedBodyDto,
} from './decision.dto';

/**
 * Stored rows to API DTOs, field by field on purpose: the stored event may gain fields in a later
 * schema version, and only what is listed here is part of the API contract.
 */
export class DecisionMapper {
  static decision(row: DecisionEntity): DecisionDto {
    const e = JSON.parse(row.event) as DecisionEvent;
    const dto = new DecisionDto();
    dto.decision_id = e.decision_id;
    dto.timestamp = e.timestamp;
    dto.stored_at = new Date(row.storedAtMs).toISOString();
    dto.enforcer_id = e.enforcer_id;
    dto.bundle = { name: e.bundle.name, version: e.bundle.version, digest: e.bundle.digest };
    dto.connection = e.connection;
    dto.protocol = e.protocol;
    dto.path = e.path;
    dto.subject = e.subject;
    dto.outcome = e.outcome;
    dto.reasons = [...e.reasons];
    dto.error = e.error ? { code: e.error.code, message: e.error.message } : null;
    dto.status = e.status;
    dto.request = requestLine(e);
    dto.input = e.input;
    dto.result = e.result;
    dto.metrics = {
      timer_eval_ns: e.metrics.timer_eval_ns,
      timer_total_ns: e.metrics.timer_total_ns,
    };
    const call = callRecord(row, e);
    dto.call = call === null ? null : callRecordDto(call);
    dto.log_mask = logMask(e.log_mask);
    dto.approval = approvalLink(e);
    return dto;
  }

  static call(row: DecisionEntity): CallDto {
    const e = JSON.parse(row.event) as DecisionEvent;
    const call = callRecord(row, e);
    const dto = new CallDto();
    dto.decision_id = e.decision_id;
    dto.timestamp = e.timestamp;
    dto.subject = e.subject;
    dto.connection = e.connection;
    dto.enforcer_id = e.enforcer_id;
    dto.protocol = e.protocol;
    dto.request = requestLine(e);
    dto.outcome = e.outcome;
    dto.error_code = e.error?.code ?? null;
    dto.status = e.status;
    dto.upstream_status = call?.upstream_status ?? null;
    // Nanoseconds to milliseconds, rounded to the microsecond: enough for an audit view.
    dto.duration_ms = Math.round(e.metrics.timer_total_ns / 1000) / 1000;
    dto.bytes_in = call?.bytes_in ?? null;
    dto.bytes_out = call?.bytes_out ?? null;
    dto.bundle = { name: e.bundle.name, version: e.bundle.version, digest: e.bundle.digest };
    dto.masked = call?.masked ? maskedSummary(call.masked) : null;
    dto.log_mask = logMask(e.log_mask);
    dto.request_body = call?.request_body ? recordedBody(call.request_body) : null;
    dto.response_body = call?.response_body ? recordedBody(call.response_body) : null;
    dto.recorded = call !== null;
    dto.approval = approvalLink(e);
    return dto;
  }
}

function approvalLink(e: DecisionEvent): DecisionApprovalDto | null {
  return e.approval ? { id: e.approval.id, status: e.approval.status } : null;
}

function requestLine(e: DecisionEvent): DecisionRequestDto {
  return { method: e.request.method, path: e.request.path, query: e.request.query ?? null };
}

/**
 * The call record from `call_records`; rows stored before that table existed may carry it in
 * the event itself.
 */
function callRecord(row: DecisionEntity, e: DecisionEvent): CallRecord | null {
  if (row.call) return fromEntity(row.call);
  return e.call ?? null;
}

function fromEntity(c: CallRecordEntity): CallRecord {
  return {
    bytes_in: c.bytesIn,
    bytes_out: c.bytesOut,
    upstream_status: c.upstreamStatus,
    masked: c.masked === null ? null : (JSON.parse(c.masked) as CallRecord['masked']),
    request_body: parseBody(c.requestBody),
    response_body: parseBody(c.responseBody),
  };
}

function parseBody(json: string | null | undefined): RecordedBody | null {
  return json === null || json === undefined ? null : (JSON.parse(json) as RecordedBody);
}

function callRecordDto(c: CallRecord): CallRecordDto {
  return {
    bytes_in: c.bytes_in,
    bytes_out: c.bytes_out,
    upstream_status: c.upstream_status,
    masked: c.masked ? maskedSummary(c.masked) : null,
    request_body: c.request_body ? recordedBody(c.request_body) : null,
    response_body: c.response_body ? recordedBody(c.response_body) : null,
  };
}

function maskedSummary(m: NonNullable<CallRecord['masked']>): MaskedSummaryDto {
  return { fields: m.fields, detectors: { ...m.detectors } };
}

function recordedBody(b: RecordedBody): RecordedBodyDto {
  return { encoding: b.encoding, data: b.data, bytes: b.bytes, truncated: b.truncated };
}

function logMask(m: LogMaskReport | undefined): LogMaskDto | null {
  if (m === undefined || (m.erased.length === 0 && m.masked.length === 0)) return null;
  return { erased: [...m.erased], masked: [...m.masked] };
}
