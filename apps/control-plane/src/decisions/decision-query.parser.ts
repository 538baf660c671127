import { NAME_PATTERN, OUTCOMES, type Outcome } from '@portcullis/contracts';
import { decisionCursorCodec, type DecisionCursor } from './decision-cursor.codec';
import { DecisionQueryError } from './decision.errors';
import { DecisionTimestamp } from './decision.timestamp';

export const DECISION_PAGE_LIMIT = { default: 50, max: 500 } as const;

/** The parameters `GET /v1/decisions` accepts, in the order the docs list them. */
export const DECISION_QUERY_PARAMETERS = [
  'subject',
  'connection',
  'outcome',
  'bundle',
  'bundle_version',
  'enforcer_id',
  'from',
  'to',
  'limit',
  'cursor',
] as const;
type DecisionQueryParameter = (typeof DECISION_QUERY_PARAMETERS)[number];

/**
 * A validated decision query. Filters are ANDed; absent means "any". The time window is
 * `fromUs <= timestamp < toUs` in microseconds since the epoch. `cursor` continues after the
 * last item of a previous page; results are always newest first.
 */
export interface DecisionQuery {
  subject?: string;
  connection?: string;
  outcome?: Outcome;
  bundle?: string;
  bundleVersion?: number;
  enforcerId?: string;
  fromUs?: number;
  toUs?: number;
  limit: number;
  cursor?: DecisionCursor;
}

const MAX_TEXT = 1024;

/**
 * Validates the raw query string object of `GET /v1/decisions` (as Express parses it) into a
 * {@link DecisionQuery}. Strict on purpose: an unknown or repeated parameter is an error, because
 * an auditor whose typo (`subjet=`) silently widened the result would draw wrong conclusions.
 */
export class DecisionQueryParser {
  /** @throws DecisionQueryError naming the first bad parameter. */
  static parse(raw: Record<string, unknown>): DecisionQuery {
    for (const key of Object.keys(raw)) {
      if (!(DECISION_QUERY_PARAMETERS as readonly string[]).includes(key)) {
        throw new DecisionQueryError(
          safeName(key),
          `is not a known parameter (accepted: ${DECISION_QUERY_PARAMETERS.join(', ')})`,
        );
      }
    }
    const get = (name: DecisionQueryParameter): string | undefined => {
      const v = raw[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'string')
        throw new DecisionQueryError(name, 'must be given once, as a plain string');
      if (v.length === 0) throw new DecisionQueryError(name, 'must not be empty');
      return v;
    };
    const text = (name: DecisionQueryParameter): string | undefined => {
      const v = get(name);
      if (v !== undefined && v.length > MAX_TEXT)
        throw new DecisionQueryError(name, `must be at most ${MAX_TEXT} characters`);
      return v;
    };
    const name = (param: DecisionQueryParameter): string | undefined => {
      const v = get(param);
      if (v !== undefined && !NAME_PATTERN.test(v)) {
        throw new DecisionQueryError(
          param,
          'must be a name (lower-case letters, digits, _ and -, at most 63)',
        );
      }
      return v;
    };
    const time = (param: DecisionQueryParameter): number | undefined => {
      const v = get(param);
      if (v === undefined) return undefined;
      const us = DecisionTimestamp.toQueryBoundMicros(v);
      if (us === null)
        throw new DecisionQueryError(
          param,
          'must be an RFC 3339 date-time, e.g. 2025-01-31T08:00:00Z',
        );
      return us;
    };

    const query: DecisionQuery = { limit: DECISION_PAGE_LIMIT.default };
    const subject = text('subject');
    if (subject !== undefined) query.subject = subject;
    const connection = text('connection');
    if (connection !== undefined) query.connection = connection;
    const outcome = get('outcome');
    if (outcome !== undefined) {
      if (!(OUTCOMES as readonly string[]).includes(outcome)) {
        throw new DecisionQueryError('outcome', `must be one of ${OUTCOMES.join(', ')}`);
      }
      query.outcome = outcome as Outcome;
    }
    const bundle = name('bundle');
    if (bundle !== undefined) query.bundle = bundle;
    const bundleVersion = get('bundle_version');
    if (bundleVersion !== undefined)
      query.bundleVersion = positiveInteger('bundle_version', bundleVersion);
    const enforcerId = name('enforcer_id');
    if (enforcerId !== undefined) query.enforcerId = enforcerId;
    const fromUs = time('from');
    if (fromUs !== undefined) query.fromUs = fromUs;
    const toUs = time('to');
    if (toUs !== undefined) query.toUs = toUs;
    if (fromUs !== undefined && toUs !== undefined && fromUs >= toUs) {
      throw new DecisionQueryError('to', 'must be later than from');
    }
    const limit = get('limit');
    if (limit !== undefined) {
      const n = /^\d{1,4}$/.test(limit) ? Number(limit) : NaN;
      if (!(n >= 1 && n <= DECISION_PAGE_LIMIT.max)) {
        throw new DecisionQueryError(
          'limit',
          `must be an integer between 1 and ${DECISION_PAGE_LIMIT.max}`,
        );
      }
      query.limit = n;
    }
    const cursor = get('cursor');
    if (cursor !== undefined) query.cursor = decisionCursorCodec.decode(cursor);
    return query;
  }
}

function positiveInteger(param: string, value: string): number {
  const n = /^[1-9]\d{0,14}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new DecisionQueryError(param, 'must be a positive integer');
  return n;
}

// Unknown parameter names are echoed back; keep that echo short and printable.
function safeName(key: string): string {
  const printable = key.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}
