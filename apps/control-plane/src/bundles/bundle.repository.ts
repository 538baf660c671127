import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { TransactionRunner } from '../database/transaction.runner';
import { BundleVersionEntity } from './bundle-version.entity';
import { BundleActivationEntity } from './bundle-activation.entity';
import { BundleEntity } from './bundle.entity';

/** A version to store; the repository picks its number. */
export interface NewBundleVersion {
  bundle: string;
  digest: string;
  dataDigest: string;
  entrypoint: string;
  modules: Record<string, string>;
  /** data.json bytes as distributed. */
  data: Buffer;
  wasm: Buffer;
  createdBy: string;
  createdAtMs: number;
}

/** Version metadata, without the large columns. */
export type BundleVersionSummary = Omit<BundleVersionEntity, 'modules' | 'data' | 'wasm'>;

/** The stored artifacts of one version, as distributed. */
export interface BundleArtifacts {
  wasm: Buffer;
  data: Buffer;
}

const VERSION_COLUMNS = [
  'v.bundle',
  'v.version',
  'v.digest',
  'v.dataDigest',
  'v.entrypoint',
  'v.wasmBytes',
  'v.createdBy',
  'v.createdAtMs',
] as const;
const MAX_VERSION_RACE_RETRIES = 20;

/** The only code that touches the bundle tables. */
@Injectable()
export class BundleRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {}

  /**
   * Stores a new version as max(version)+1 of its bundle (creating the bundle on first upload).
   * A concurrent upload that took the same number makes the insert hit the primary key; the
   * loser simply takes the next number. Each attempt is one transaction: on SQLite a plain write
   * issued while another transaction is open would join it and could be rolled back with it,
   * and on PostgreSQL the failed insert ends its transaction, so the retry starts a fresh one.
   */
  async insertVersion(v: NewBundleVersion): Promise<BundleVersionSummary> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transactions.run(async (tx) => {
          await tx
            .createQueryBuilder()
            .insert()
            .into(BundleEntity)
            .values({
              name: v.bundle,
              activeVersion: null,
              activatedAtMs: null,
              activatedBy: null,
              createdAtMs: v.createdAtMs,
            })
            .orIgnore()
            .execute();
          const version = (await this.latestVersion(tx, v.bundle)) + 1;
          const row: BundleVersionEntity = {
            bundle: v.bundle,
            version,
            digest: v.digest,
            dataDigest: v.dataDigest,
            entrypoint: v.entrypoint,
            modules: JSON.stringify(v.modules),
            data: v.data.toString('utf8'),
            wasm: v.wasm.toString('base64'),
            wasmBytes: v.wasm.length,
            createdBy: v.createdBy,
            createdAtMs: v.createdAtMs,
          };
          await tx.createQueryBuilder().insert().into(BundleVersionEntity).values(row).execute();
          return {
            bundle: row.bundle,
            version: row.version,
            digest: row.digest,
            dataDigest: row.dataDigest,
            entrypoint: row.entrypoint,
            wasmBytes: row.wasmBytes,
            createdBy: row.createdBy,
            createdAtMs: row.createdAtMs,
          };
        });
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= MAX_VERSION_RACE_RETRIES) throw err;
      }
    }
  }

  private async latestVersion(tx: EntityManager, bundle: string): Promise<number> {
    const row = await tx
      .getRepository(BundleVersionEntity)
      .createQueryBuilder('v')
      .select('MAX(v.version)', 'max')
      .where('v.bundle = :bundle', { bundle })
      .getRawOne<{ max: number | string | null }>();
    return row?.max === null || row?.max === undefined ? 0 : Number(row.max);
  }

  findBundle(name: string): Promise<BundleEntity | null> {
    return this.dataSource.getRepository(BundleEntity).findOneBy({ name });
  }

  listBundles(): Promise<BundleEntity[]> {
    return this.dataSource.getRepository(BundleEntity).find({ order: { name: 'ASC' } });
  }

  /** Bundles with an active version: what must be in the KV bucket. */
  async listActive(): Promise<BundleEntity[]> {
    return this.dataSource
      .getRepository(BundleEntity)
      .createQueryBuilder('b')
      .where('b.activeVersion IS NOT NULL')
      .orderBy('b.name', 'ASC')
      .getMany();
  }

  /** Number of versions and latest version per bundle, for the bundle list. */
  async versionStats(): Promise<Map<string, { count: number; latest: number }>> {
    const rows = await this.dataSource
      .getRepository(BundleVersionEntity)
      .createQueryBuilder('v')
      .select('v.bundle', 'bundle')
      .addSelect('COUNT(*)', 'count')
      .addSelect('MAX(v.version)', 'latest')
      .groupBy('v.bundle')
      .getRawMany<{ bundle: string; count: number | string; latest: number | string }>();
    return new Map(
      rows.map((r) => [r.bundle, { count: Number(r.count), latest: Number(r.latest) }]),
    );
  }

  listVersions(bundle: string): Promise<BundleVersionSummary[]> {
    return this.dataSource
      .getRepository(BundleVersionEntity)
      .createQueryBuilder('v')
      .select([...VERSION_COLUMNS])
      .where('v.bundle = :bundle', { bundle })
      .orderBy('v.version', 'DESC')
      .getMany();
  }

  /** One version's metadata, without the large columns. */
  findVersionSummary(bundle: string, version: number): Promise<BundleVersionSummary | null> {
    return this.dataSource
      .getRepository(BundleVersionEntity)
      .createQueryBuilder('v')
      .select([...VERSION_COLUMNS])
      .where('v.bundle = :bundle AND v.version = :version', { bundle, version })
      .getOne();
  }

  async findVersion(
    bundle: string,
    version: number,
  ): Promise<(BundleVersionSummary & { modules: Record<string, string>; data: string }) | null> {
    const row = await this.dataSource
      .getRepository(BundleVersionEntity)
      .createQueryBuilder('v')
      .select([...VERSION_COLUMNS, 'v.modules', 'v.data'])
      .where('v.bundle = :bundle AND v.version = :version', { bundle, version })
      .getOne();
    if (!row) return null;
    return { ...row, modules: JSON.parse(row.modules) as Record<string, string> };
  }

  async findArtifacts(bundle: string, version: number): Promise<BundleArtifacts | null> {
    const row = await this.dataSource
      .getRepository(BundleVersionEntity)
      .createQueryBuilder('v')
      .select(['v.bundle', 'v.version', 'v.wasm', 'v.data'])
      .where('v.bundle = :bundle AND v.version = :version', { bundle, version })
      .getOne();
    if (!row) return null;
    return { wasm: Buffer.from(row.wasm, 'base64'), data: Buffer.from(row.data, 'utf8') };
  }

  /** Makes `version` active and appends the activation to the history, in one transaction. */
  async setActive(
    bundle: string,
    version: number,
    digest: string,
    by: string,
    atMs: number,
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      const current = await tx.getRepository(BundleEntity).findOneBy({ name: bundle });
      const last = await tx
        .getRepository(BundleActivationEntity)
        .findOne({ where: { bundle }, order: { activatedAtMs: 'DESC' } });
      // History order is time order: two activations within one millisecond stay in sequence.
      const at = Math.max(atMs, (last?.activatedAtMs ?? 0) + 1);
      await tx
        .getRepository(BundleEntity)
        .update({ name: bundle }, { activeVersion: version, activatedBy: by, activatedAtMs: at });
      await tx.getRepository(BundleActivationEntity).insert({
        id: randomUUID(),
        bundle,
        version,
        digest,
        previousVersion: current?.activeVersion ?? null,
        activatedBy: by,
        activatedAtMs: at,
      });
    });
  }

  /** Activation history of a bundle, newest first. */
  async listActivations(bundle: string, limit: number): Promise<BundleActivationEntity[]> {
    return this.dataSource.getRepository(BundleActivationEntity).find({
      where: { bundle },
      order: { activatedAtMs: 'DESC', id: 'DESC' },
      take: limit,
    });
  }
}

/** SQLite (better-sqlite3) and PostgreSQL spell "unique/primary key violated" differently. */
function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const code = (err.driverError as { code?: unknown } | undefined)?.code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}
