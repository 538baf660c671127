import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { dataSourceOptions, openDataSource } from './data-source';
import { TransactionRunner } from './transaction.runner';

const POSTGRES_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;

/** A database opened with the app's own options, holding one scratch table, and how to drop it. */
interface ProbeDatabase {
  dataSource: DataSource;
  close(): Promise<void>;
}

/** What the callback throws to make its transaction roll back. */
class Rollback extends Error {}

const CREATE_PROBE = 'CREATE TABLE tx_probe (id varchar(64) PRIMARY KEY)';

async function openSqlite(): Promise<ProbeDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-tx-'));
  const dataSource = await openDataSource({
    ...dataSourceOptions(`sqlite:${join(dir, 'cp.db')}`),
    entities: [],
    migrations: [],
  });
  await dataSource.query(CREATE_PROBE);
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(baseUrl: string): Promise<ProbeDatabase> {
  const schema = `tx_test_${randomBytes(6).toString('hex')}`;
  const admin = new DataSource({ type: 'postgres', url: baseUrl });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const url = new URL(baseUrl);
  url.searchParams.set('schema', schema);
  const drop = async () => {
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.destroy();
  };
  let dataSource: DataSource;
  try {
    dataSource = await openDataSource({
      ...dataSourceOptions(url.toString()),
      entities: [],
      migrations: [],
    });
  } catch (err) {
    await drop();
    throw err;
  }
  await dataSource.query(CREATE_PROBE);
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      await drop();
    },
  };
}

/**
 * The same properties on each database. `serialized`: SQLite (one shared connection) runs
 * transactions one after another; PostgreSQL (a pool) runs them side by side.
 */
function transactionRunnerContract(open: () => Promise<ProbeDatabase>, serialized: boolean): void {
  let db: ProbeDatabase;
  let runner: TransactionRunner;

  before(async () => {
    db = await open();
    runner = new TransactionRunner(db.dataSource);
  });
  after(async () => {
    await db?.close();
  });

  const param = () => (db.dataSource.options.type === 'postgres' ? '$1' : '?');
  const insert = (tx: EntityManager, id: string) =>
    tx.query(`INSERT INTO tx_probe (id) VALUES (${param()})`, [id]);
  /** Ids stored under `prefix`, read outside any transaction. */
  const stored = async (prefix: string): Promise<string[]> => {
    const rows = await db.dataSource.query<{ id: string }[]>(
      `SELECT id FROM tx_probe WHERE id LIKE ${param()} ORDER BY id`,
      [`${prefix}%`],
    );
    return rows.map((r) => r.id);
  };

  it('a committed transaction keeps its rows when an overlapping one rolls back', async () => {
    const committed = runner.run(async (tx) => {
      await insert(tx, 'keep-1:committed');
      await sleep(30);
    });
    await sleep(10);
    const rolledBack = runner.run(async (tx) => {
      await insert(tx, 'keep-1:rolled-back');
      await sleep(60);
      throw new Rollback('undo');
    });
    await committed;
    await assert.rejects(rolledBack, Rollback);
    assert.deepEqual(await stored('keep-1:'), ['keep-1:committed']);
  });

  it('a rolled-back transaction leaves none of its rows when an overlapping one commits', async () => {
    const rolledBack = runner.run(async (tx) => {
      await insert(tx, 'keep-2:rolled-back-a');
      await sleep(30);
      await insert(tx, 'keep-2:rolled-back-b');
      throw new Rollback('undo');
    });
    await sleep(10);
    const committed = runner.run(async (tx) => {
      await insert(tx, 'keep-2:committed');
      await sleep(60);
    });
    await assert.rejects(rolledBack, Rollback);
    await committed;
    assert.deepEqual(await stored('keep-2:'), ['keep-2:committed']);
  });

  it(
    serialized
      ? 'transactions through different runners on one database run one at a time, in call order'
      : 'transactions through different runners run side by side',
    async () => {
      // Two runners, as two repositories each holding one would: the lock belongs to the database.
      const runners = [runner, new TransactionRunner(db.dataSource), runner];
      const trace: string[] = [];
      const all = runners.map((r, i) =>
        r.run(async (tx) => {
          trace.push(`${i}:begin`);
          await insert(tx, `order:${i}`);
          await sleep(40 - i * 15);
          trace.push(`${i}:end`);
        }),
      );
      await Promise.all(all);
      if (serialized) {
        assert.deepEqual(trace, ['0:begin', '0:end', '1:begin', '1:end', '2:begin', '2:end']);
      } else {
        assert.deepEqual(trace.slice(0, 3).sort(), ['0:begin', '1:begin', '2:begin']);
      }
      assert.deepEqual(await stored('order:'), ['order:0', 'order:1', 'order:2']);
    },
  );

  it('a transaction that fails does not hold up the ones queued behind it', async () => {
    const failing = runner.run(async (tx) => {
      await insert(tx, 'after-fail:a');
      await insert(tx, 'after-fail:a'); // primary key violation: a database error, not ours
    });
    const next = runner.run((tx) => insert(tx, 'after-fail:b'));
    await assert.rejects(failing);
    await next;
    assert.deepEqual(await stored('after-fail:'), ['after-fail:b']);
  });

  it('reads outside a transaction are answered while one is open', async () => {
    let open = true;
    const holder = runner.run(async (tx) => {
      await insert(tx, 'read:held');
      await sleep(80);
      open = false;
    });
    await sleep(10);
    await stored('read:');
    assert.equal(open, true, 'the read did not wait for the transaction');
    await holder;
  });

  it('a transaction opened inside another is refused instead of waiting for itself', async () => {
    await assert.rejects(
      runner.run(async (tx) => {
        await insert(tx, 'nested:outer');
        await runner.run((inner) => insert(inner, 'nested:inner'));
      }),
      /inside a transaction/,
    );
    assert.deepEqual(await stored('nested:'), []);
    // The refusal released the lock: the next transaction runs.
    await runner.run((tx) => insert(tx, 'nested:later'));
    assert.deepEqual(await stored('nested:'), ['nested:later']);
  });
}

describe('TransactionRunner (SQLite file)', () => {
  transactionRunnerContract(openSqlite, true);
});

describe(
  'TransactionRunner (PostgreSQL)',
  {
    skip: POSTGRES_URL ? false : 'set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL variant',
  },
  () => {
    transactionRunnerContract(() => openPostgres(POSTGRES_URL!), false);
  },
);
