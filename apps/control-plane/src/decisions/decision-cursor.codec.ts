import { DecisionQueryError } from './decision.errors';

/** Position after the last item of a page: the keyset (timestamp, decision_id) of that item. */
export interface DecisionCursor {
  timestampUs: number;
  decisionId: string;
}

const VERSION = 'v1';
const DECISION_ID = /^[0-9a-f-]{36}$/;
// A cursor is small; refusing long input early keeps base64/JSON work bounded.
const MAX_CURSOR_LENGTH = 200;

/**
 * Encodes page positions as opaque strings. Callers must treat a cursor as a token: its format
 * is versioned and may change. Pagination is keyset-based on (timestamp, decision_id), so a
 * cursor stays valid while new decisions are inserted, and no item is skipped or repeated
 * because of them (unlike an offset).
 */
export class DecisionCursorCodec {
  static encode(cursor: DecisionCursor): string {
    const json = JSON.stringify([VERSION, cursor.timestampUs, cursor.decisionId]);
    return Buffer.from(json, 'utf8').toString('base64url');
  }

  /** @throws DecisionQueryError (parameter `cursor`) for anything this codec did not produce. */
  static decode(value: string): DecisionCursor {
    const invalid = (): never => {
      throw new DecisionQueryError(
        'cursor',
        'is not a valid cursor (use next_cursor from a previous page unchanged)',
      );
    };
    if (value.length === 0 || value.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value))
      invalid();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    } catch {
      return invalid();
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return invalid();
    const [version, timestampUs, decisionId] = parsed as unknown[];
    if (version !== VERSION) return invalid();
    if (typeof timestampUs !== 'number' || !Number.isSafeInteger(timestampUs)) return invalid();
    if (typeof decisionId !== 'string' || !DECISION_ID.test(decisionId)) return invalid();
    return { timestampUs, decisionId };
  }
}
