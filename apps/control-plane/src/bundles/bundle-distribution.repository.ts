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

  /** The pointer enforcers currently see, or null (none, or not a valid pointer). */
  async currentPointer(bundle: string): Promise<BundlePointer | null> {
    return this.nats('read the active bundle pointer', async () => {
      const entry = await this.topology.bundles.get(activeBundleKey(bundle));
      if (!entry || entry.operation !== 'PUT' || entry.length === 0) return null;
      try {
        return parseBundlePointer(entry.json());
      } catch {
        return null;
      }
    });
  }

  /** Writes the pointer; every enforcer watching the key switches once it has verified the artifacts. */
  async publishPointer(pointer: BundlePointer): Promise<void> {
    await this.nats('publish the active bundle pointer', async () => {
      await this.topology.bundles.put(activeBundleKey(pointer.bundle), JSON.stringify(pointer));
    });
  }

  /** Test and diagnostics helper: the bytes enforcers would download. */
  async readArtifact(name: string): Promise<Uint8Array | null> {
    return this.nats('read a bundle artifact', () => this.topology.artifacts.getBlob(name));
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
