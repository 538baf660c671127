import { QueryFailedError } from 'typeorm';

/** SQLite result codes meaning "not now", not "wrong": locked, read-only, full or failing storage. */
const SQLITE_TRANSIENT = /^SQLITE_(BUSY|LOCKED|READONLY|FULL|IOERR|CANTOPEN|PROTOCOL)/;
/**
 * PostgreSQL SQLSTATE classes/codes of the same kind: 08 connection exception, 53 insufficient
 * resources, 57P0x operator intervention (shutdown), 40001/40P01 serialization failure and
 * deadlock, 25006 read-only transaction.
 */
const PG_TRANSIENT = /^(08|53|57P0|40001$|40P01$|25006$)/;
/** Node socket errors of the PostgreSQL driver. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/**
 * Tells whether a database failure is the database being unavailable right now (so the caller
 * gets 503 and may retry) rather than a defect (500). Lives with the database code because only
 * it knows the drivers' error shapes.
 */
export class DatabaseErrorClassifier {
  static isUnavailable(err: unknown): boolean {
    const driver = err instanceof QueryFailedError ? (err.driverError as unknown) : err;
    const code = (driver as { code?: unknown } | null)?.code;
    if (typeof code !== 'string') {
      // pg's pool reports a dead connection as a plain Error with these messages.
      const message = err instanceof Error ? err.message : '';
      return /Connection terminated|timeout exceeded when trying to connect/.test(message);
    }
    return SQLITE_TRANSIENT.test(code) || PG_TRANSIENT.test(code) || NETWORK.has(code);
  }
}
