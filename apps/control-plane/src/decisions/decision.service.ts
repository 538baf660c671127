import { Injectable } from '@nestjs/common';
import { scrubDecisionEvent, type DecisionEvent } from '@portcullis/contracts';
import { CallDto, CallPageDto } from './call.dto';
import { decisionCursorCodec } from './decision-cursor.codec';
import type { DecisionQuery } from './decision-query.parser';
import type { DecisionEntity } from './decision.entity';
import { DecisionNotFoundError, DecisionQueryError } from './decision.errors';
import { DecisionDto, DecisionPageDto } from './decision.dto';
import { DecisionMapper } from './decision.mapper';
import { DecisionRepository, type DecisionInsertResult } from './decision.repository';

const DECISION_ID = /^[0-9a-f-]{36}$/;

/**
 * The decision log: stores events idempotently and answers auditors' queries with DTOs (never
 * entities), as decisions (`list`, `get`) or as the audit view of calls (`listCalls`, `getCall`).
 * Events were validated with `parseDecisionEvent` before they reach `record`.
 */
@Injectable()
export class DecisionService {
  constructor(private readonly repository: DecisionRepository) {}

  /**
   * Stores a batch; duplicates (same decision_id) are counted, not stored again. Defence in depth
   * at the storage boundary: enforcers scrub credentials before they publish, but the log keeps
   * events for a long time and accepts them from every enforcer version in the fleet, so the
   * contract's scrub runs again here before anything is stored, and so does the redaction of
   * credential parameters in the canonical query string (`request.query`).
   */
  async record(events: readonly DecisionEvent[]): Promise<DecisionInsertResult> {
    return this.repository.insertIgnoringDuplicates(events.map((e) => scrubDecisionEvent(e)));
  }

  async list(query: DecisionQuery): Promise<DecisionPageDto> {
    const page = await this.repository.findPage(query);
    const dto = new DecisionPageDto();
    dto.items = page.rows.map((row) => DecisionMapper.decision(row));
    dto.next_cursor = page.next ? decisionCursorCodec.encode(page.next) : null;
    return dto;
  }

  /**
   * @throws DecisionQueryError when the id cannot be a decision id (so it is never echoed back)
   * @throws DecisionNotFoundError when no such decision is stored
   */
  async get(decisionId: string): Promise<DecisionDto> {
    return DecisionMapper.decision(await this.find(decisionId));
  }

  async listCalls(query: DecisionQuery): Promise<CallPageDto> {
    const page = await this.repository.findPage(query);
    const dto = new CallPageDto();
    dto.items = page.rows.map((row) => DecisionMapper.call(row));
    dto.next_cursor = page.next ? decisionCursorCodec.encode(page.next) : null;
    return dto;
  }

  /** @throws like {@link get} */
  async getCall(decisionId: string): Promise<CallDto> {
    return DecisionMapper.call(await this.find(decisionId));
  }

  private async find(decisionId: string): Promise<DecisionEntity> {
    if (!DECISION_ID.test(decisionId)) {
      throw new DecisionQueryError(
        'decision_id',
        'must be a decision id (36 characters: 0-9, a-f and -)',
      );
    }
    const row = await this.repository.findById(decisionId);
    if (!row) throw new DecisionNotFoundError(decisionId);
    return row;
  }
}
