import { isApprovalId } from '@portcullis/contracts';
import { InvalidRequestError } from '../errors/domain.error';
import type { ApprovalListCursor } from './approval.repository';

const VERSION = 'a1';
const MAX_CURSOR_LENGTH = 200;

/**
 * Opaque page positions (keyset on created_at, id): stable while new requests arrive. Callers
 * pass `next_cursor` back unchanged; the format is versioned and may change.
 */
export class ApprovalCursorCodec {
  static encode(c: ApprovalListCursor): string {
    return Buffer.from(JSON.stringify([VERSION, c.createdAtMs, c.id]), 'utf8').toString(
      'base64url',
    );
  }

  /** @throws InvalidRequestError naming `cursor` for anything this codec did not produce. */
  static decode(value: string): ApprovalListCursor {
    const invalid = (): never => {
      throw new InvalidRequestError(
        'cursor is not a valid cursor (use next_cursor from a previous page unchanged)',
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
    const [version, createdAtMs, id] = parsed as unknown[];
    if (
      version !== VERSION ||
      typeof createdAtMs !== 'number' ||
      !Number.isSafeInteger(createdAtMs)
    )
      return invalid();
    if (typeof id !== 'string' || !isApprovalId(id)) return invalid();
    return { createdAtMs, id };
  }
}
