import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, DataSourceOptions, EntityManager } from 'typeorm';

/** Drivers whose every transaction gets a connection of its own from a pool. */
const POOLED_DRIVERS: ReadonlySet<DataSourceOptions['type']> = new Set(['postgres']);

/** The transaction the current async context runs inside, while it is open. */
interface OpenTransaction {
  dataSource: DataSource;
  open: boolean;
}

const current = new AsyncLocalStorage<OpenTransaction>();

/**
 * Tail of each database's queue: the lock belongs to the DataSource (its one connection), not to
 * a runner, so runners built separately for the same database still take turns.
 */
const queues = new WeakMap<DataSource, Promise<void>>();

/**
 * The one way repositories open a transaction: `run(fn)` calls `fn` with an EntityManager bound to
 * the transaction, commits when `fn` resolves, rolls back and rethrows when it rejects.
 *
 * Why not `dataSource.transaction` directly: TypeORM drives SQLite through one shared connection
 * and query runner, so two overlapping transactions nest (the second becomes a SAVEPOINT of the
 * first): a commit can be undone by the other's rollback, a rollback can leave rows that the other
 * then commits, and two started in the same tick both fail. On SQLite (and any driver not known to
 * pool connections) transactions therefore run one at a time, in call order, across every
 * repository. On PostgreSQL each transaction has its own pooled connection and `run` delegates.
 *
 * Statements outside `run` are not queued: reads stay concurrent, but on SQLite a read while a
 * transaction is open sees its uncommitted rows, and a write then joins (and shares the fate of)
 * that transaction; a write that must not do so belongs in `run`.
 *
 * A `run` inside a running callback is refused (on SQLite it would wait for itself forever): use
 * the EntityManager the outer callback received.
 */
@Injectable()
export class TransactionRunner {
  private readonly serialized: boolean;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialized = !POOLED_DRIVERS.has(dataSource.options.type);
  }

  async run<T>(fn: (tx: EntityManager) => Promise<T>): Promise<T> {
    const outer = current.getStore();
    if (outer?.open && outer.dataSource === this.dataSource) {
      throw new Error(
        'TransactionRunner.run called inside a transaction on the same database; use the EntityManager passed to the callback',
      );
    }
    if (!this.serialized) return this.inside(fn);
    const previous = queues.get(this.dataSource) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    queues.set(
      this.dataSource,
      previous.then(() => done),
    );
    await previous;
    try {
      return await this.inside(fn);
    } finally {
      release();
    }
  }

  private inside<T>(fn: (tx: EntityManager) => Promise<T>): Promise<T> {
    const tx: OpenTransaction = { dataSource: this.dataSource, open: true };
    // Marked closed once it ends, so work the callback left running is not mistaken for nesting.
    return current
      .run(tx, () => this.dataSource.transaction(fn))
      .finally(() => {
        tx.open = false;
      });
  }
}
