import { KeysetCursorCodec } from '../pagination/keyset-cursor.codec';
import { DecisionQueryError } from './decision.errors';

/** Position after the last item of a page: the keyset (timestamp, decision_id) of that item. */
export interface DecisionCursor {
  timestampUs: number;
  decisionId: string;
}

const DECISION_ID = /^[0-9a-f-]{36}$/;

/**
 * `GET /v1/decisions` page positions, keyset on (timestamp, decision_id); a refused cursor is a
 * {@link DecisionQueryError} for the parameter `cursor`. Issued cursors carry the tag `v1`.
 */
export const decisionCursorCodec = new KeysetCursorCodec<DecisionCursor>({
  version: 'v1',
  isId: (id) => DECISION_ID.test(id),
  toKeyset: (cursor) => [cursor.timestampUs, cursor.decisionId],
  fromKeyset: (timestampUs, decisionId) => ({ timestampUs, decisionId }),
  invalid: (detail) => new DecisionQueryError('cursor', detail),
});
