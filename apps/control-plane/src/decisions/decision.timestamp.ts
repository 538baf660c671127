const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Converts RFC 3339 timestamps to integer microseconds since the epoch: the sort key of stored
 * decisions. Integers sort the same way in SQLite and PostgreSQL (text would not, once offsets
 * or varying fraction lengths appear), and microseconds keep the ordering of events that an
 * enforcer stamped within the same millisecond. Returns `null` for anything that is not a valid
 * RFC 3339 date-time (including impossible dates such as February 30, which `Date.parse` accepts).
 */
export class DecisionTimestamp {
  static toEpochMicros(value: string): number | null {
    const micros = DecisionTimestamp.unboundedMicros(value);
    return micros !== null && Number.isSafeInteger(micros) ? micros : null;
  }

  /**
   * Like {@link toEpochMicros} for a query bound: a valid date-time outside the safe-integer range
   * (before 1685 or after 2255) is clamped to it instead of refused, since no stored decision can
   * lie beyond it; `to=9999-12-31T23:59:59Z` then means "no upper bound", as the caller meant.
   */
  static toQueryBoundMicros(value: string): number | null {
    const micros = DecisionTimestamp.unboundedMicros(value);
    if (micros === null) return null;
    return Math.min(Math.max(micros, Number.MIN_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  }

  /** Microseconds as a (possibly imprecise) number, or null when not a valid RFC 3339 date-time. */
  private static unboundedMicros(value: string): number | null {
    const m = RFC3339.exec(value);
    if (!m) return null;
    const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
      Number,
    ) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return null;
    // Not Date.UTC(year, …): it reads years 0–99 as 1900–1999 (`0050-…` was 1950).
    const monthEnd = new Date(0);
    monthEnd.setUTCFullYear(year, month, 0);
    if (day < 1 || day > monthEnd.getUTCDate()) return null;
    let offsetMinutes = 0;
    if (m[9] !== undefined) {
      const oh = Number(m[10]);
      const om = Number(m[11]);
      if (oh > 23 || om > 59) return null;
      offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    // A leap second (:60) is folded into the next second; ordering is what matters here.
    const utc = new Date(0);
    utc.setUTCFullYear(year, month - 1, day);
    utc.setUTCHours(hour, minute, second, 0);
    const wholeMs = utc.getTime() - offsetMinutes * 60_000;
    const fraction = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
    return wholeMs * 1000 + Number(fraction);
  }
}
