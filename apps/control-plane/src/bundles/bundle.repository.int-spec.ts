import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { dataSourceOptions, openDataSource } from '../database/data-source';
import { TransactionRunner } from '../database/transaction.runner';
import { BundleRepository, type NewBundleVersion } from './bundle.repository';

/** What the overlapping transaction throws to roll back. */
class Rollback extends Error {}

const version = (bundle: string): NewBundleVersion => ({
  bundle,
  digest: 'a'.repeat(64),
  dataDigest: 'b'.repeat(64),
  entrypoint: 'portcullis/decision',
  modules: { 'policy.rego': 'package portcullis' },
  data: Buffer.from('{}'),
  wasm: Buffer.from([0, 97, 115, 109]),
  createdBy: 'tester',
  createdAtMs: Date.now(),
});

// SQLite only: the one shared connection is where a plain write could join another transaction.
describe('bundle repository on SQLite: an upload is its own transaction', () => {
  let dir: string;
  let dataSource: DataSource;
  let runner: TransactionRunner;
  let bundles: BundleRepository;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-bundle-repo-'));
    dataSource = await openDataSource(dataSourceOptions(`sqlite:${join(dir, 'cp.db')}`));
    runner = new TransactionRunner(dataSource);
    bundles = new BundleRepository(dataSource, runner);
  });
  after(async () => {
    await dataSource?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a version stored while another transaction is open survives that transaction’s rollback', async () => {
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const other = runner.run(async () => {
      opened();
      await sleep(50);
      throw new Rollback('undo');
    });
    await isOpen;
    const [stored] = await Promise.all([
      bundles.insertVersion(version('overlap')),
      assert.rejects(other, Rollback),
    ]);
    assert.equal(stored.version, 1);
    assert.equal((await bundles.listVersions('overlap')).length, 1);
    assert.ok(await bundles.findBundle('overlap'));
  });

  it('concurrent uploads of one bundle take consecutive numbers', async () => {
    const stored = await Promise.all(
      Array.from({ length: 5 }, () => bundles.insertVersion(version('race'))),
    );
    assert.deepEqual(
      stored.map((s) => s.version).sort((a, b) => a - b),
      [1, 2, 3, 4, 5],
    );
  });
});
