import { Injectable } from '@nestjs/common';
import { EnforcerListDto } from './enforcer.dto';
import { EnforcerStatusRepository } from './enforcer-status.repository';

/**
 * The fleet view served by GET /v1/enforcers: every valid status report from the enforcer status
 * KV bucket, mapped field by field to the API contract so a field an enforcer adds to its report
 * never reaches callers until the DTO names it.
 */
@Injectable()
export class EnforcerService {
  constructor(private readonly statuses: EnforcerStatusRepository) {}

  async list(): Promise<EnforcerListDto> {
    const items = await this.statuses.list();
    return {
      items: items.map((s) => ({
        enforcer_id: s.enforcer_id,
        bundle: s.bundle,
        active_version: s.active_version,
        active_digest: s.active_digest,
        activated_at: s.activated_at,
        last_error: s.last_error,
        started_at: s.started_at,
        reported_at: s.reported_at,
      })),
    };
  }
}
