import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsNull, Not, QueryFailedError, type DataSource } from 'typeorm';
import { TransactionRunner } from '../database/transaction.runner';
import { ConnectionEntity } from './connection.entity';

/**
 * The only code that touches the connections table. Every write runs in its own transaction
 * through {@link TransactionRunner}: on SQLite a bare write issued while another repository's
 * transaction is open would join that transaction and be rolled back with it. Reads stay outside.
 */
@Injectable()
export class ConnectionRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {}

  /** Inserts a new connection; false when the name is taken. */
  async insert(row: ConnectionEntity): Promise<boolean> {
    try {
      await this.transactions.run((tx) => tx.getRepository(ConnectionEntity).insert(row));
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  find(name: string): Promise<ConnectionEntity | null> {
    return this.dataSource.getRepository(ConnectionEntity).findOneBy({ name });
  }

  list(): Promise<ConnectionEntity[]> {
    return this.dataSource.getRepository(ConnectionEntity).find({ order: { name: 'ASC' } });
  }

  /**
   * Replaces a connection if it is still at `expectedRevision` (optimistic lock); false when a
   * concurrent change or delete got there first.
   */
  async replace(row: ConnectionEntity, expectedRevision: number): Promise<boolean> {
    const { name, ...rest } = row;
    const result = await this.transactions.run((tx) =>
      tx.getRepository(ConnectionEntity).update({ name, revision: expectedRevision }, rest),
    );
    return (result.affected ?? 0) === 1;
  }

  /** Deletes a connection; false when it did not exist. */
  async delete(name: string): Promise<boolean> {
    const result = await this.transactions.run((tx) =>
      tx.getRepository(ConnectionEntity).delete({ name }),
    );
    return (result.affected ?? 0) === 1;
  }

  /** Connections whose secret is encrypted with a key other than `kid` (key rotation). */
  listEncryptedWithOtherKeys(kid: string): Promise<ConnectionEntity[]> {
    return this.dataSource.getRepository(ConnectionEntity).find({
      where: { secretKeyId: Not(kid), secretCiphertext: Not(IsNull()) },
    });
  }

  /**
   * Swaps the stored ciphertext for the same secret under another key, only if it is still the one
   * that was read (a concurrent rotation wins). The revision stays: the connection did not change.
   */
  async reencrypt(
    name: string,
    from: { kid: string; ciphertext: string },
    to: { kid: string; ciphertext: string },
  ): Promise<boolean> {
    const result = await this.transactions.run((tx) =>
      tx
        .getRepository(ConnectionEntity)
        .update(
          { name, secretKeyId: from.kid, secretCiphertext: from.ciphertext },
          { secretKeyId: to.kid, secretCiphertext: to.ciphertext },
        ),
    );
    return (result.affected ?? 0) === 1;
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
