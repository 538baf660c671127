import { Inject, Injectable } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  NATS_NAMES,
  parseEnforcerStatus,
  type EnforcerStatus,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { Logger, errorMessage } from '@portcullis/platform';
import { UnavailableError } from '../errors/domain.error';
import { JETSTREAM_TOPOLOGY, NATS_CONNECTION } from '../nats/nats.tokens';

const STREAM = `KV_${NATS_NAMES.enforcerStatusBucket}`;
const SUBJECT_PREFIX = `$KV.${NATS_NAMES.enforcerStatusBucket}.`;

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
      for (const key of await this.keys()) {
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

  /**
   * The bucket's keys from the stream's subject list. Not `KV.keys()`: on an empty bucket it
   * returns without deleting the push consumer it created, so every call on a fleet without
   * enforcers leaked one until the stream's consumer limit made this endpoint fail for good.
   */
  private async keys(): Promise<string[]> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(STREAM, { subjects_filter: `${SUBJECT_PREFIX}>` });
    return Object.keys(info.state.subjects ?? {})
      .filter((s) => s.startsWith(SUBJECT_PREFIX))
      .map((s) => s.slice(SUBJECT_PREFIX.length))
      .sort();
  }
}
