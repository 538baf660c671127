import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  BUNDLE_POINTER_SCHEMA,
  DECISION_PATH,
  activeBundleKey,
  bundleArtifactNames,
  ensureJetStreamTopology,
  type BundlePointer,
} from '@portcullis/contracts';
import { CAPABILITIES_FILE } from '@portcullis/policy-runtime';
import { compileRego as compileWithOpa } from '@portcullis/testing';

/** Compiles Rego modules with the real opa and the enforcer's capabilities, as the control plane does. */
export const compileRego = (modules: Record<string, string>): Uint8Array =>
  compileWithOpa(modules, { capabilities: CAPABILITIES_FILE });

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Plays the control plane: stores a compiled version's artifacts in the object store and returns
 * the pointer that would activate it (see {@link activate}).
 */
export async function uploadVersion(
  nc: NatsConnection,
  bundle: string,
  version: number,
  wasm: Uint8Array,
  data: unknown = {},
): Promise<BundlePointer> {
  const topo = await ensureJetStreamTopology(nc);
  const names = bundleArtifactNames(bundle, version);
  const dataBytes = Buffer.from(JSON.stringify(data));
  await topo.artifacts.putBlob({ name: names.wasm }, wasm);
  await topo.artifacts.putBlob({ name: names.data }, dataBytes);
  return {
    schema: BUNDLE_POINTER_SCHEMA,
    bundle,
    version,
    digest: sha256(wasm),
    data_digest: sha256(dataBytes),
    entrypoint: DECISION_PATH,
    activated_at: new Date().toISOString(),
    activated_by: 'test',
  };
}

/** Writes the pointer to the bundle KV, as the control plane's activation does. */
export async function activate(nc: NatsConnection, pointer: BundlePointer): Promise<void> {
  const topo = await ensureJetStreamTopology(nc);
  await topo.bundles.put(
    activeBundleKey(pointer.bundle),
    JSON.stringify({ ...pointer, activated_at: new Date().toISOString() }),
  );
}
