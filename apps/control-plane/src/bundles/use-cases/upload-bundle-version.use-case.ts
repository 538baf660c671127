import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DECISION_PATH } from '@portcullis/contracts';
import { Logger, errorMessage } from '@portcullis/platform';
import type { Principal } from '../../auth/principal.model';
import { BundleRejectedError } from '../../errors/domain.error';
import { BundleDistributionRepository } from '../bundle-distribution.repository';
import { BundleUploadValidator } from '../bundle-upload.validator';
import type { BundleVersionDto } from '../bundle.dto';
import { BundleMapper } from '../bundle.mapper';
import { BundleMetrics, type UploadResult } from '../bundle.metrics';
import { BundleRepository } from '../bundle.repository';
import { OpaCompilerRepository } from '../opa-compiler.repository';
import { ActivateBundleVersionUseCase } from './activate-bundle-version.use-case';

/**
 * Upload a new version of `bundle` on behalf of `principal`; the use case validates everything,
 * including the name.
 */
export interface UploadBundleVersionCommand {
  bundle: string;
  /** The request body as parsed JSON, unvalidated. */
  body: unknown;
  principal: Principal;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Validate → compile with the real opa (check, test, build) → store as the next version →
 * put the artifacts into the object store → activate if asked. Nothing is stored for a version
 * opa rejects. Artifact upload failing after the version is stored is not fatal: activation
 * (and the reconciler) put them again from the database.
 */
@Injectable()
export class UploadBundleVersionUseCase {
  private readonly logger: Logger;

  constructor(
    private readonly compiler: OpaCompilerRepository,
    private readonly bundles: BundleRepository,
    private readonly distribution: BundleDistributionRepository,
    private readonly activation: ActivateBundleVersionUseCase,
    private readonly metrics: BundleMetrics,
    logger: Logger,
  ) {
    this.logger = logger.child('bundles');
  }

  async execute(cmd: UploadBundleVersionCommand): Promise<BundleVersionDto> {
    let upload;
    try {
      upload = BundleUploadValidator.upload(cmd.bundle, cmd.body);
    } catch (err) {
      this.metrics.uploads.inc({ result: 'invalid' });
      throw err;
    }
    const compiled = await this.compile(upload.modules, upload.data);
    const stored = await this.bundles.insertVersion({
      bundle: upload.name,
      digest: sha256(compiled.wasm),
      dataDigest: sha256(compiled.data),
      entrypoint: DECISION_PATH,
      modules: upload.modules,
      data: compiled.data,
      wasm: compiled.wasm,
      createdBy: cmd.principal.subject,
      createdAtMs: Date.now(),
    });
    this.metrics.uploads.inc({ result: 'accepted' });
    this.logger.info('bundle version stored', {
      bundle: stored.bundle,
      version: stored.version,
      digest: stored.digest,
      created_by: stored.createdBy,
    });
    try {
      await this.distribution.ensureArtifacts(
        stored.bundle,
        stored.version,
        { wasm: stored.digest, data: stored.dataDigest },
        async () => compiled,
      );
    } catch (err) {
      if (upload.activate) throw err;
      this.logger.warn('bundle artifacts not yet in NATS; activation will retry', {
        bundle: stored.bundle,
        version: stored.version,
        error: errorMessage(err),
      });
    }
    let activeVersion: number | null = null;
    if (upload.activate) {
      activeVersion = (
        await this.activation.execute({
          bundle: stored.bundle,
          version: stored.version,
          principal: cmd.principal,
        })
      ).active_version;
    } else {
      activeVersion = (await this.bundles.findBundle(stored.bundle))?.activeVersion ?? null;
    }
    return BundleMapper.version(stored, activeVersion);
  }

  private async compile(modules: Record<string, string>, data: Record<string, unknown>) {
    const end = this.metrics.compileDuration.startTimer();
    let result: UploadResult = 'error';
    try {
      const compiled = await this.compiler.compile(modules, data);
      result = 'accepted';
      return compiled;
    } catch (err) {
      if (err instanceof BundleRejectedError) result = 'rejected';
      throw err;
    } finally {
      end({ result });
      if (result !== 'accepted') this.metrics.uploads.inc({ result });
    }
  }
}
