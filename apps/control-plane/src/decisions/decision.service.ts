import { Injectable } from '@nestjs/common';
import { scrubDecisionEvent, type DecisionEvent } from '@portcullis/contracts';
import { DecisionCursorCodec } from './decision-cursor.codec';
import type { DecisionQuery } from './decision-query.parser';
import type { DecisionEntity } from './decision.entity';
import { DecisionNotFoundError, DecisionQueryError } from './decision.errors';
import { DecisionDto, DecisionPageDto } from './decision.dto';
import { DecisionRepository, type DecisionInsertResult } from './decision.repository';

const DECISION_ID = /^[0-9a-f-]{36}$/;

/**
 * The decision log: stores events idempotently and answers auditors' queries with DTOs (never
 * entities). Events were validated with `parseDecisionEvent` before they reach `record`.
 */
@Injectable()
export class DecisionService {
  constructor(private readonly repository: DecisionRepository) {}

  /**
   * Stores a batch; duplicates (same decision_id) are counted, not stored again. Defence in depth
   * at the storage boundary: enforcers scrub credentials before they publish, but the log keeps
   * events for a long time and accepts them from every enforcer version in the fleet, so the
   * contract's scrub runs again here before anything is stored.
   */
  async record(events: readonly DecisionEvent[]): Promise<DecisionInsertResult> {
    return this.repository.insertIgnoringDuplicates(events.map(scrubDecisionEvent));
  }

  async list(query: DecisionQuery): Promise<DecisionPageDto> {
    const page = await this.repository.findPage(query);
    const dto = new DecisionPageDto();
    dto.items = page.rows.map(toDecisionDto);
    dto.next_cursor = page.next ? DecisionCursorCodec.encode(page.next) : null;
    return dto;
  }

  /**
   * @throws DecisionQueryError when the id cannot be a decision id (so it is never echoed back)
   * @throws DecisionNotFoundError when no such decision is stored
   */
  async get(decisionId: string): Promise<DecisionDto> {
    if (!DECISION_ID.test(decisionId)) {
      throw new DecisionQueryError(
        'decision_id',
        'must be a decision id (36 characters: 0-9, a-f and -)',
      );
    }
    const row = await this.repository.findById(decisionId);
    if (!row) throw new DecisionNotFoundError(decisionId);
    return toDecisionDto(row);
  }
}

/**
 * Field by field on purpose: the stored event may gain fields in a later schema version, and
 * only what is listed here is part of the API contract.
 */
function toDecisionDto(row: DecisionEntity): DecisionDto {
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
  dto.request = { method: e.request.method, path: e.request.path };
  dto.input = e.input;
  dto.result = e.result;
  dto.metrics = {
    timer_eval_ns: e.metrics.timer_eval_ns,
    timer_total_ns: e.metrics.timer_total_ns,
  };
  return dto;
}
