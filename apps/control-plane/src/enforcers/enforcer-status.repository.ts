import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  NATS_NAMES,
  parseEnforcerStatus,
  type EnforcerStatus,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { Logger, errorMessage } from '@portcullis/platform';
import { UnavailableError } from '../errors/domain.error';
import { kvBucketKeys } from '../nats/kv-bucket.operations';
import { JETSTREAM_TOPOLOGY, NATS_CONNECTION } from '../nats/nats.tokens';

/** Reads what enforcers report about themselves from the enforcer status KV bucket. */
@Injectable()
export class EnforcerStatusRepository {
  private readonly logger: Logger;

  constructor(
    @Inject(JETSTREAM_TOPOLOGY) private readonly topology: JetStreamTopology,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    logger: Logger,
  ) {
    this.logger = logger.child('enforcers');
  }

  /** Every valid status, by enforcer id; an entry that breaks the contract is logged and skipped. */
  async list(): Promise<EnforcerStatus[]> {
    try {
      const out: EnforcerStatus[] = [];
      for (const key of await kvBucketKeys(this.nc, NATS_NAMES.enforcerStatusBucket)) {
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
