import { Injectable } from '@nestjs/common';
import { BUNDLE_POINTER_SCHEMA, type BundlePointer } from '@portcullis/contracts';
import { UnavailableError } from '../errors/domain.error';
import { BundleDistributionRepository } from './bundle-distribution.repository';
import { BundleMetrics } from './bundle.metrics';
import { BundleRepository } from './bundle.repository';

/** Compare-and-set rounds before giving up; each lost round means another replica just wrote. */
const MAX_PUBLISH_ATTEMPTS = 8;

/**
 * Makes NATS show what the database says is active. Activation and the periodic reconciler both
 * go through {@link publish}, which always re-reads the database under a per-bundle lock, so a
 * slow reconcile can never overwrite a newer activation with an older pointer.
 */
@Injectable()
export class BundlePublisher {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly bundles: BundleRepository,
    private readonly distribution: BundleDistributionRepository,
    private readonly metrics: BundleMetrics,
  ) {}

  /** Publishes the active version of `bundle`; returns the pointer, or null when none is active. */
  publish(bundle: string): Promise<BundlePointer | null> {
    const previous = this.locks.get(bundle) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.publishNow(bundle));
    this.locks.set(bundle, run);
    void run
      .finally(() => {
        if (this.locks.get(bundle) === run) this.locks.delete(bundle);
      })
      .catch(() => undefined);
    return run;
  }

  private async publishNow(bundle: string): Promise<BundlePointer | null> {
    for (let attempt = 1; ; attempt++) {
      // KV first, database second, then compare-and-set on the KV revision: another replica that
      // activates in between either lands in the database before our read (we publish its
      // version) or writes the KV after our read (our write fails and we read both again). So
      // NATS never ends up showing an activation older than the one the database records.
      const current = await this.distribution.currentPointer(bundle);
      const pointer = await this.recordedPointer(bundle);
      if (!pointer) return null;
      if (current.pointer && samePointer(current.pointer, pointer)) {
        this.metrics.activeVersion.set({ bundle }, pointer.version);
        return pointer;
      }
      if (await this.distribution.publishPointer(pointer, current.revision)) {
        this.metrics.activeVersion.set({ bundle }, pointer.version);
        return pointer;
      }
      if (attempt >= MAX_PUBLISH_ATTEMPTS)
        throw new UnavailableError(
          `the pointer of bundle ${bundle} kept changing in NATS; retry the activation`,
        );
    }
  }

  /** The pointer the database says enforcers should see, with its artifacts in the object store. */
  private async recordedPointer(bundle: string): Promise<BundlePointer | null> {
    const b = await this.bundles.findBundle(bundle);
    if (!b || b.activeVersion === null) return null;
    const v = await this.bundles.findVersionSummary(bundle, b.activeVersion);
    if (!v)
      throw new Error(
        `bundle ${bundle} is active at version ${b.activeVersion}, which is not stored`,
      );
    const pointer: BundlePointer = {
      schema: BUNDLE_POINTER_SCHEMA,
      bundle,
      version: v.version,
      digest: v.digest,
      data_digest: v.dataDigest,
      entrypoint: v.entrypoint,
      activated_at: new Date(b.activatedAtMs ?? v.createdAtMs).toISOString(),
      activated_by: b.activatedBy ?? v.createdBy,
    };
    // Artifacts first: an enforcer that sees the pointer must find both files.
    await this.distribution.ensureArtifacts(
      bundle,
      v.version,
      { wasm: v.digest, data: v.dataDigest },
      async () => {
        const a = await this.bundles.findArtifacts(bundle, v.version);
        if (!a)
          throw new Error(`artifacts of ${bundle} v${v.version} are missing from the database`);
        return a;
      },
    );
    return pointer;
  }
}

function samePointer(a: BundlePointer, b: BundlePointer): boolean {
  return (
    a.version === b.version &&
    a.digest === b.digest &&
    a.data_digest === b.data_digest &&
    a.entrypoint === b.entrypoint &&
    a.activated_at === b.activated_at
  );
}
