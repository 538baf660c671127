/** Wall-clock fields of an instant in some zone, as Go's `time.Time.Date()`/`Clock()`/`Weekday()` report them. */
export interface WallClock {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Millisecond within the second (sub-millisecond precision is carried separately). */
  millisecond: number;
  /** 0 = Sunday, as Go's time.Weekday. */
  weekday: number;
}

/**
 * A time zone that can convert between instants and wall clocks. OPA resolves zone names with
 * Go's `time.LoadLocation`; we use the ICU data bundled with Node (Intl), which carries the same
 * IANA database, so results match except when the two tzdata releases disagree.
 */
export interface TimeZone {
  readonly name: string;
  /** Offset from UTC in milliseconds that applies at the given instant. */
  offsetAt(instantMs: number): number;
  wallClock(instantMs: number): WallClock;
  /** The instant for a wall clock (given as if it were UTC), resolved the way Go's `time.Date` does. */
  instantOf(wallMs: number): number;
}

class FixedUtc implements TimeZone {
  readonly name = 'UTC';
  offsetAt(): number {
    return 0;
  }
  wallClock(instantMs: number): WallClock {
    return utcFields(instantMs);
  }
  instantOf(wallMs: number): number {
    return wallMs;
  }
}

class IntlZone implements TimeZone {
  private readonly format: Intl.DateTimeFormat;

  constructor(
    readonly name: string,
    timeZone: string | undefined,
  ) {
    // Throws RangeError for an unknown zone name, which the caller reports as a builtin error.
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  offsetAt(instantMs: number): number {
    const wholeSecond = instantMs - floorMod(instantMs, 1000);
    const parts: Record<string, string> = {};
    for (const p of this.format.formatToParts(wholeSecond)) parts[p.type] = p.value;
    let year = Number(parts.year);
    if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
    const wall = utcMs(
      year,
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
      0,
    );
    return wall - wholeSecond;
  }

  wallClock(instantMs: number): WallClock {
    return utcFields(instantMs + this.offsetAt(instantMs));
  }

  instantOf(wallMs: number): number {
    // Go's time.Date: take the offset in force at the wall clock read as UTC; if the resulting
    // instant falls under a different offset (near a transition), use that one instead.
    const guess = this.offsetAt(wallMs);
    const actual = this.offsetAt(wallMs - guess);
    return wallMs - (actual === guess ? guess : actual);
  }
}

const UTC = new FixedUtc();
const zoneCache = new Map<string, TimeZone>();
const MAX_CACHED_ZONES = 512;

/**
 * Resolves a zone name with OPA's rules: "" and "UTC" are UTC, "Local" is the process's zone,
 * anything else is an IANA name. Throws for unknown names.
 */
export function resolveTimeZone(name: string): TimeZone {
  if (name === '' || name === 'UTC') return UTC;
  const cached = zoneCache.get(name);
  if (cached) return cached;
  const zone = name === 'Local' ? new IntlZone('Local', undefined) : new IntlZone(name, name);
  // Policies normally name a handful of zones; the bound only stops input-driven names from growing memory.
  if (zoneCache.size < MAX_CACHED_ZONES) zoneCache.set(name, zone);
  return zone;
}

function floorMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Milliseconds since the epoch for UTC fields, normalizing overflow like Go (and without Date.UTC's 0–99 → 19xx quirk). */
export function utcMs(
  year: number,
  monthIndex: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number {
  const d = new Date(0);
  d.setUTCFullYear(year, monthIndex, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

function utcFields(ms: number): WallClock {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
    weekday: d.getUTCDay(),
  };
}

export function daysIn(year: number, month: number): number {
  return new Date(utcMs(year, month, 0, 0, 0, 0, 0)).getUTCDate();
}
