import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Set by .ci/run; the PostgreSQL variants are skipped (with this reason) when it is missing. */
export const POSTGRES_URL_ENV = 'PORTCULLIS_TEST_POSTGRES_URL';

export function postgresSkipReason(): string | false {
  return process.env[POSTGRES_URL_ENV]
    ? false
    : `${POSTGRES_URL_ENV} is not set (.ci/run sets it after starting PostgreSQL)`;
}

/**
 * A fresh, uniquely named database on the test server, so concurrent stacks never share
 * tables. `drop()` removes it even while the control plane still holds connections.
 */
export class ScratchDatabase {
  private constructor(
    readonly url: string,
    private readonly adminUrl: string,
    private readonly name: string,
  ) {}

  static async create(label: string): Promise<ScratchDatabase> {
    const adminUrl = process.env[POSTGRES_URL_ENV];
    if (!adminUrl) throw new Error(`${POSTGRES_URL_ENV} is not set`);
    const name = `portcullis_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return new ScratchDatabase(url.toString(), adminUrl, name);
  }

  /** Runs one query against the scratch database (for asserting that the data landed here). */
  async query<T extends Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    return withClient(this.url, async (c) => (await c.query<T>(sql, params)).rows);
  }

  /** Every row of every table in the public schema, as text (for scans of what was stored). */
  async dump(): Promise<string> {
    const tables = await this.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
    );
    const parts: string[] = [];
    for (const { tablename } of tables) {
      const rows = await this.query(`SELECT * FROM "${tablename.replace(/"/g, '""')}"`);
      parts.push(`${tablename}: ${JSON.stringify(rows)}`);
    }
    return parts.join('\n');
  }

  async drop(): Promise<void> {
    await withClient(this.adminUrl, (c) =>
      c.query(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`),
    );
  }
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
