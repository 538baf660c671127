import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { dataSourceOptions, openDataSource } from '../database/data-source';
import { TransactionRunner } from '../database/transaction.runner';
import { ApprovalOutboxRepository } from './approval-outbox.repository';
import { ApprovalWebhookDeliveryEntity } from './approval-webhook-delivery.entity';

const POSTGRES_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;

/** What the overlapping transaction throws to roll back. */
class Rollback extends Error {}

async function openMigrated(
  database: 'sqlite' | 'postgres',
): Promise<{ dataSource: DataSource; close(): Promise<void> }> {
  if (database === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cp-outbox-'));
    const dataSource = await openDataSource(dataSourceOptions(`sqlite:${join(dir, 'cp.db')}`));
    return {
      dataSource,
      close: async () => {
        await dataSource.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `cp_outbox_${randomBytes(6).toString('hex')}`;
  const admin = new DataSource({ type: 'postgres', url: POSTGRES_URL });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const url = new URL(POSTGRES_URL!);
  url.searchParams.set('schema', schema);
  const drop = async () => {
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.destroy();
  };
  try {
    const dataSource = await openDataSource(dataSourceOptions(url.toString()));
    return {
      dataSource,
      close: async () => {
        await dataSource.destroy();
        await drop();
      },
    };
  } catch (err) {
    await drop();
    throw err;
  }
}

for (const database of ['sqlite', 'postgres'] as const) {
  describe(
    `approval webhook outbox on ${database}: each write is its own transaction`,
    {
      skip:
        database === 'postgres' && !POSTGRES_URL
          ? 'set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL variant'
          : false,
    },
    () => {
      let db: Awaited<ReturnType<typeof openMigrated>>;
      let runner: TransactionRunner;
      let outbox: ApprovalOutboxRepository;

      before(async () => {
        db = await openMigrated(database);
        runner = new TransactionRunner(db.dataSource);
        outbox = new ApprovalOutboxRepository(db.dataSource, runner);
      });
      after(async () => {
        await db?.close();
      });

      const delivery = async (): Promise<string> => {
        const id = randomUUID();
        await db.dataSource.getRepository(ApprovalWebhookDeliveryEntity).insert({
          id,
          approvalId: randomUUID(),
          event: 'approval.requested',
          payload: '{}',
          state: 'pending',
          attempts: 0,
          nextAttemptAtMs: 0,
          claimedUntilMs: null,
          lastError: null,
          createdAtMs: Date.now(),
          finishedAtMs: null,
        });
        return id;
      };
      const stored = (id: string) =>
        db.dataSource.getRepository(ApprovalWebhookDeliveryEntity).findOneByOrFail({ id });

      /** Runs `write` while another transaction is open and then rolls back. */
      const duringRollback = async (write: () => Promise<unknown>): Promise<void> => {
        let opened!: () => void;
        const isOpen = new Promise<void>((resolve) => (opened = resolve));
        const other = runner.run(async () => {
          opened();
          await sleep(50);
          throw new Rollback('undo');
        });
        await isOpen;
        await Promise.all([write(), assert.rejects(other, Rollback)]);
      };

      void it('a claim made from a stale listing is refused: another replica tried the row meanwhile', async () => {
        const id = await delivery();
        const now = Date.now();
        // Another replica tried once and failed: attempts 1, next attempt in the future.
        await outbox.failed(id, 1, 'HTTP 500', now + 60_000, now);
        assert.equal(await outbox.claim(id, 0, now, now + 60_000), false, 'old attempt count');
        assert.equal(await outbox.claim(id, 1, now, now + 60_000), false, 'backoff not yet over');
        assert.equal(await outbox.claim(id, 1, now + 61_000, now + 120_000), true, 'due again');
      });

      void it('a claim, a delivery and a failure are kept when an overlapping transaction rolls back', async () => {
        const claimed = await delivery();
        const now = Date.now();
        await duringRollback(async () =>
          assert.equal(await outbox.claim(claimed, 0, now, now + 60_000), true),
        );
        assert.equal((await stored(claimed)).claimedUntilMs, now + 60_000);

        await duringRollback(() => outbox.delivered(claimed, 1, now));
        assert.equal((await stored(claimed)).state, 'delivered');

        const failing = await delivery();
        await duringRollback(() => outbox.failed(failing, 3, 'HTTP 500', null, now));
        const failed = await stored(failing);
        assert.equal(failed.state, 'failed');
        assert.equal(failed.attempts, 3);
      });
    },
  );
}
