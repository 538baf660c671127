import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  BUNDLE_POINTER_SCHEMA,
  DECISION_PATH,
  activeBundleKey,
  bundleArtifactNames,
  ensureJetStreamTopology,
  type BundlePointer,
} from '@portcullis/contracts';
import { CAPABILITIES_FILE, readBundleFile } from '@portcullis/policy-runtime';
import { toolPath } from '@portcullis/testing';

/** Compiles Rego modules with the real opa, as the control plane does, and returns policy.wasm. */
export function compileRego(modules: Record<string, string>): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'enforcer-rego-'));
  try {
    for (const [name, source] of Object.entries(modules)) {
      const file = join(dir, 'src', name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, source);
    }
    const out = join(dir, 'bundle.tar.gz');
    const run = spawnSync(
      toolPath('opa'),
      [
        'build',
        '-t',
        'wasm',
        '-e',
        DECISION_PATH,
        '--capabilities',
        CAPABILITIES_FILE,
        '-o',
        out,
        join(dir, 'src'),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (run.status !== 0) throw new Error(`opa build failed: ${run.stderr || run.stdout}`);
    const wasm = readBundleFile(readFileSync(out), '/policy.wasm');
    if (!wasm) throw new Error('opa build produced no /policy.wasm');
    return wasm;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
