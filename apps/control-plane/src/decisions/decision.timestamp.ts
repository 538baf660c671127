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
    const m = RFC3339.exec(value);
    if (!m) return null;
    const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
      Number,
    ) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return null;
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day < 1 || day > daysInMonth) return null;
    let offsetMinutes = 0;
    if (m[9] !== undefined) {
      const oh = Number(m[10]);
      const om = Number(m[11]);
      if (oh > 23 || om > 59) return null;
      offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    // A leap second (:60) is folded into the next second; ordering is what matters here.
    const wholeMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
    const fraction = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
    const micros = wholeMs * 1000 + Number(fraction);
    return Number.isSafeInteger(micros) ? micros : null;
  }
}
