import { InvalidRequestError } from '../errors/domain.error';

/** What a refused cursor is told, after the parameter name; it never echoes the cursor. */
export const INVALID_CURSOR_DETAIL =
  'is not a valid cursor (use next_cursor from a previous page unchanged)';
// A cursor is small; refusing long input early keeps base64/JSON work bounded.
const MAX_CURSOR_LENGTH = 200;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * How one list's page positions `P` map to a keyset (an integer sort key, then the id that breaks
 * ties) and back. Cursors travel as `base64url(JSON [version, key, id])`: `version` must differ
 * between lists, so one list refuses another's cursors, and changing it invalidates every cursor
 * already issued. `isId` accepts only ids the list issues, so nothing else reaches a query.
 * `invalid` builds the error for a refused cursor from {@link INVALID_CURSOR_DETAIL}; without it
 * the refusal is an {@link InvalidRequestError} naming `cursor`.
 */
export interface KeysetCursorFormat<P> {
  version: string;
  isId(id: string): boolean;
  toKeyset(position: P): [key: number, id: string];
  fromKeyset(key: number, id: string): P;
  invalid?(detail: string): Error;
}

/**
 * Encodes page positions as opaque strings. Callers must treat a cursor as a token: its format is
 * versioned and may change. Pagination is keyset-based, so a cursor stays valid while new rows are
 * inserted, and no item is skipped or repeated because of them (unlike an offset).
 */
export class KeysetCursorCodec<P> {
  constructor(private readonly format: KeysetCursorFormat<P>) {}

  encode(position: P): string {
    const json = JSON.stringify([this.format.version, ...this.format.toKeyset(position)]);
    return Buffer.from(json, 'utf8').toString('base64url');
  }

  /** @throws the format's `invalid` error (by default InvalidRequestError) for anything it did not produce. */
  decode(value: string): P {
    const keyset = this.keyset(value);
    if (keyset) return this.format.fromKeyset(...keyset);
    throw this.format.invalid
      ? this.format.invalid(INVALID_CURSOR_DETAIL)
      : new InvalidRequestError(`cursor ${INVALID_CURSOR_DETAIL}`);
  }

  private keyset(value: string): [number, string] | null {
    if (value.length === 0 || value.length > MAX_CURSOR_LENGTH || !BASE64URL.test(value))
      return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return null;
    const [version, key, id] = parsed as unknown[];
    if (version !== this.format.version) return null;
    if (typeof key !== 'number' || !Number.isSafeInteger(key)) return null;
    if (typeof id !== 'string' || !this.format.isId(id)) return null;
    return [key, id];
  }
}
