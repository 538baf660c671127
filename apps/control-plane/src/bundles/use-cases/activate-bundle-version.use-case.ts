import { Injectable } from '@nestjs/common';
import { Logger } from '@portcullis/platform';
import type { Principal } from '../../auth/principal.model';
import { ConflictError, NotFoundError } from '../../errors/domain.error';
import type { ActivationDto } from '../bundle.dto';
import { BundlePublisher } from '../bundle.publisher';
import { BundleRepository } from '../bundle.repository';

/**
 * Activate `version` of `bundle` on behalf of `principal`; name and version are already
 * validated.
 */
export interface ActivateBundleVersionCommand {
  bundle: string;
  version: number;
  principal: Principal;
}

/**
 * Makes a stored version the active one (an older version: a rollback), then publishes the
 * pointer. The database is the record: if NATS fails after it changed, the caller gets 503,
 * and the reconciler publishes the recorded state within its interval; repeating the call is safe.
 */
@Injectable()
export class ActivateBundleVersionUseCase {
  private readonly logger: Logger;

  constructor(
    private readonly bundles: BundleRepository,
    private readonly publisher: BundlePublisher,
    logger: Logger,
  ) {
    this.logger = logger.child('bundles');
  }

  async execute(cmd: ActivateBundleVersionCommand): Promise<ActivationDto> {
    const target = await this.bundles.findVersionSummary(cmd.bundle, cmd.version);
    if (!target) throw new NotFoundError(`bundle ${cmd.bundle} has no version ${cmd.version}`);
    await this.bundles.setActive(
      cmd.bundle,
      cmd.version,
      target.digest,
      cmd.principal.subject,
      Date.now(),
    );
    this.logger.info('bundle version activated', {
      bundle: cmd.bundle,
      version: cmd.version,
      digest: target.digest,
      activated_by: cmd.principal.subject,
    });
    const pointer = await this.publisher.publish(cmd.bundle);
    if (!pointer || pointer.version !== cmd.version) {
      // Another activation of the same bundle landed in between; it is now the recorded one.
      throw new ConflictError(
        `bundle ${cmd.bundle} was activated concurrently; now active: ${pointer?.version ?? 'none'}`,
      );
    }
    return {
      bundle: cmd.bundle,
      active_version: pointer.version,
      digest: pointer.digest,
      activated_at: pointer.activated_at,
      activated_by: pointer.activated_by,
    };
  }
}
