import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { Decisions1764400000000 } from '../database/migrations/1764400000000-decisions';
import { CallRecords1764430000000 } from '../database/migrations/1764430000000-call-records';
import { dataSourceOptions, openDataSource } from '../database/data-source';
import { CallRecordEntity } from './call-record.entity';
import { DecisionEntity } from './decision.entity';

/** A migrated database holding only the decisions schema, and how to throw it away. */
export interface DecisionTestDatabase {
  dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * Test helper: the app's own DataSource options for the URL, restricted to this module's entity
 * and migration (so the decisions tests do not depend on other capabilities' schema).
 */
async function open(databaseUrl: string): Promise<DataSource> {
  return openDataSource({
    ...dataSourceOptions(databaseUrl),
    entities: [DecisionEntity, CallRecordEntity],
    migrations: [Decisions1764400000000, CallRecords1764430000000],
  });
}

/** A fresh SQLite file in a temp directory. */
export async function openSqliteTestDatabase(): Promise<DecisionTestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-decisions-'));
  const dataSource = await open(`sqlite:${join(dir, 'cp.db')}`);
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema in the PostgreSQL at `baseUrl` (PORTCULLIS_TEST_POSTGRES_URL), dropped on close. */
export async function openPostgresTestDatabase(baseUrl: string): Promise<DecisionTestDatabase> {
  const schema = `decisions_test_${randomBytes(6).toString('hex')}`;
  const admin = new DataSource({ type: 'postgres', url: baseUrl });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const url = new URL(baseUrl);
  url.searchParams.set('schema', schema);
  let dataSource: DataSource | undefined;
  try {
    dataSource = await open(url.toString());
  } catch (err) {
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.destroy();
    throw err;
  }
  const ds = dataSource;
  return {
    dataSource: ds,
    close: async () => {
      await ds.destroy();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.destroy();
    },
  };
}

export const POSTGRES_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;
export const POSTGRES_SKIP = POSTGRES_URL
  ? false
  : 'set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL variant';
