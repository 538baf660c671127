import { Inject, Injectable } from '@nestjs/common';
import {
  activeBundleKey,
  bundleArtifactNames,
  parseBundlePointer,
  type BundlePointer,
  type JetStreamTopology,
} from '@portcullis/contracts';
import { errorMessage } from '@portcullis/platform';
import { UnavailableError } from '../errors/domain.error';
import { compareAndSetKv, readKvForUpdate } from '../nats/kv-bucket.operations';
import { JETSTREAM_TOPOLOGY } from '../nats/nats.tokens';
import type { BundleArtifacts } from './bundle.repository';

const OBJECT_DIGEST_PREFIX = 'SHA-256=';

/**
 * The only code that touches NATS for bundles: artifacts into the object store, the active
 * pointer into the KV bucket (JetStream-backed, so an enforcer that starts later still reads it).
 * NATS failures become {@link UnavailableError} (503); retrying the same call is safe.
 */
@Injectable()
export class BundleDistributionRepository {
  constructor(@Inject(JETSTREAM_TOPOLOGY) private readonly topology: JetStreamTopology) {}

  /** Stores both artifacts of a version unless the store already holds them with the same sha256. */
  async ensureArtifacts(
    bundle: string,
    version: number,
    digests: { wasm: string; data: string },
    load: () => Promise<BundleArtifacts>,
  ): Promise<void> {
    const names = bundleArtifactNames(bundle, version);
    const [wasmOk, dataOk] = await this.nats('inspect bundle artifacts', () =>
      Promise.all([this.holds(names.wasm, digests.wasm), this.holds(names.data, digests.data)]),
    );
    if (wasmOk && dataOk) return;
    const artifacts = await load();
    await this.nats('store bundle artifacts', async () => {
      if (!wasmOk) await this.topology.artifacts.putBlob({ name: names.wasm }, artifacts.wasm);
      if (!dataOk) await this.topology.artifacts.putBlob({ name: names.data }, artifacts.data);
    });
  }

  /**
   * The pointer enforcers currently see (null: none, or not a valid pointer) and the KV revision
   * it was read at (0: the key was never written), for {@link publishPointer}'s compare-and-set.
   */
  async currentPointer(
    bundle: string,
  ): Promise<{ pointer: BundlePointer | null; revision: number }> {
    const read = await this.nats('read the active bundle pointer', () =>
      readKvForUpdate(this.topology.bundles, activeBundleKey(bundle), parseBundlePointer),
    );
    return { pointer: read.value, revision: read.revision };
  }

  /**
   * Writes the pointer only if the key is still at `revision` (compare-and-set); every enforcer
   * watching the key switches once it has verified the artifacts. Returns false when someone
   * else (another control-plane replica) wrote the key since it was read.
   */
  async publishPointer(pointer: BundlePointer, revision: number): Promise<boolean> {
    const key = activeBundleKey(pointer.bundle);
    return this.nats('publish the active bundle pointer', () =>
      compareAndSetKv(this.topology.bundles, key, JSON.stringify(pointer), revision),
    );
  }

  private async holds(name: string, hexSha256: string): Promise<boolean> {
    const info = await this.topology.artifacts.info(name);
    if (!info || info.deleted || !info.digest.startsWith(OBJECT_DIGEST_PREFIX)) return false;
    return (
      Buffer.from(info.digest.slice(OBJECT_DIGEST_PREFIX.length), 'base64url').toString('hex') ===
      hexSha256
    );
  }

  private async nats<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new UnavailableError(`cannot ${what} in NATS: ${errorMessage(err)}`);
    }
  }
}
