import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';

/**
 * The one place that turns DATABASE_URL into TypeORM options, shared by the app and the TypeORM
 * CLI (`npx typeorm migration:run -d dist/apps/control-plane/src/database/data-source.js`).
 *
 * Entities and migrations are found by glob under the compiled tree, so a capability adds
 * `<capability>/<noun>.entity.ts` and `database/migrations/<timestamp>-<capability>.ts` without
 * editing this file. Schema changes only ever happen through migrations (`synchronize: false`);
 * the app runs them explicitly at boot ({@link openDataSource}).
 */
export function dataSourceOptions(databaseUrl: string): DataSourceOptions {
  const common: Pick<
    DataSourceOptions,
    'synchronize' | 'migrationsRun' | 'entities' | 'migrations' | 'migrationsTableName' | 'logging'
  > = {
    synchronize: false,
    migrationsRun: false,
    entities: [join(__dirname, '..', '**', '*.entity.js')],
    migrations: [join(__dirname, 'migrations', '*.js')],
    migrationsTableName: 'migrations',
    logging: false,
  };
  if (databaseUrl.startsWith('sqlite:')) {
    return {
      ...common,
      type: 'better-sqlite3',
      database: sqlitePath(databaseUrl),
      enableWAL: true,
    };
  }
  const { url, schema } = splitSchema(databaseUrl);
  return {
    ...common,
    type: 'postgres',
    url,
    // search_path rather than TypeORM's `schema`, so migrations' unqualified DDL and the
    // entities' queries land in the same schema.
    extra: schema ? { options: `-c search_path=${schema}` } : {},
  };
}

/** `sqlite::memory:` → `:memory:`; `sqlite:<path>` → absolute path (relative to the cwd). */
function sqlitePath(databaseUrl: string): string {
  const rest = databaseUrl.slice('sqlite:'.length);
  return rest === ':memory:' ? ':memory:' : resolve(rest);
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** `postgres://…?schema=name` selects a schema; the parameter is not a libpq one, so it is removed. */
function splitSchema(databaseUrl: string): { url: string; schema: string | undefined } {
  const u = new URL(databaseUrl);
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema === undefined) return { url: databaseUrl, schema };
  if (!SCHEMA_NAME.test(schema))
    throw new Error('DATABASE_URL schema parameter must match [a-z_][a-z0-9_]*');
  u.searchParams.delete('schema');
  return { url: u.toString(), schema };
}

/**
 * Creates the SQLite file's directory, connects and applies pending migrations, reporting each
 * applied migration's name to `onMigrated` (so an upgrade leaves a trace in the log).
 */
export async function openDataSource(
  options: DataSourceOptions,
  onMigrated: (names: string[]) => void = () => undefined,
): Promise<DataSource> {
  if (options.type === 'better-sqlite3' && options.database !== ':memory:') {
    mkdirSync(dirname(options.database), { recursive: true });
  }
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    onMigrated(applied.map((m) => m.name));
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}

/** For the TypeORM CLI only; the app builds its own from the validated config. */
export default new DataSource(
  dataSourceOptions(process.env.DATABASE_URL ?? 'sqlite:.data/control-plane.db'),
);
