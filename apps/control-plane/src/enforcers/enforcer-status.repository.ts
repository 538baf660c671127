import { Inject, Injectable } from '@nestjs/common';
import {
  parseEnforcerStatus,
  type EnforcerStatus,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { Logger, errorMessage } from '@portcullis/platform';
import { UnavailableError } from '../errors/domain.error';
import { JETSTREAM_TOPOLOGY } from '../nats/nats.tokens';

/** Reads what enforcers report about themselves from the enforcer status KV bucket. */
@Injectable()
export class EnforcerStatusRepository {
  private readonly logger: Logger;

  constructor(
    @Inject(JETSTREAM_TOPOLOGY) private readonly topology: JetStreamTopology,
    logger: Logger,
  ) {
    this.logger = logger.child('enforcers');
  }

  /** Every valid status, by enforcer id; an entry that breaks the contract is logged and skipped. */
  async list(): Promise<EnforcerStatus[]> {
    try {
      const keys: string[] = [];
      for await (const k of await this.topology.enforcers.keys()) keys.push(k);
      const out: EnforcerStatus[] = [];
      for (const key of keys.sort()) {
        const entry = await this.topology.enforcers.get(key);
        if (!entry || entry.operation !== 'PUT' || entry.length === 0) continue;
        try {
          out.push(parseEnforcerStatus(entry.json()));
        } catch (err) {
          this.logger.warn('ignoring malformed enforcer status', { key, error: errorMessage(err) });
        }
      }
      return out;
    } catch (err) {
      throw new UnavailableError(`cannot read enforcer status from NATS: ${errorMessage(err)}`);
    }
  }
}
