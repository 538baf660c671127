import { BuiltinError, exactInteger, type BuiltinValue } from './builtin-value';
import { daysIn, resolveTimeZone, utcMs, type TimeZone } from './time-zone';

const NS_PER_MS = 1_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** An instant with nanosecond precision, read in a zone (OPA's `tzTime`). */
interface ZonedInstant {
  ns: bigint;
  zone: TimeZone;
}

/**
 * The `time.*` builtins OPA evaluates natively in Go but OPA's WASM target leaves to the host.
 * Semantics follow OPA v1 `topdown/time.go`: a time argument is either nanoseconds since the
 * epoch or `[ns, tz]` with tz "", "UTC", "Local" or an IANA name. Failures throw BuiltinError,
 * which the host turns into an undefined result (OPA's default, non-strict builtin errors).
 * `now` supplies the instant `time.now_ns` returns for the current evaluation.
 */
export function timeBuiltins(
  now: () => bigint,
): Record<string, (...args: unknown[]) => BuiltinValue> {
  return {
    'time.now_ns': () => exactInteger(now()),
    'time.parse_rfc3339_ns': (value) => exactInteger(parseRfc3339(stringArg(value, 1))),
    'time.parse_duration_ns': (value) => exactInteger(parseExtendedDuration(stringArg(value, 1))),
    'time.date': (x) => {
      const w = wallClock(zonedArg(x));
      return [w.year, w.month, w.day];
    },
    'time.clock': (x) => {
      const w = wallClock(zonedArg(x));
      return [w.hour, w.minute, w.second];
    },
    'time.weekday': (x) => WEEKDAYS[wallClock(zonedArg(x)).weekday],
    'time.add_date': (x, years, months, days) =>
      exactInteger(addDate(zonedArg(x), intArg(years, 2), intArg(months, 3), intArg(days, 4))),
    'time.diff': (a, b) => diff(zonedArg(a), zonedArg(b)),
  };
}

function stringArg(v: unknown, pos: number): string {
  if (typeof v !== 'string') throw new BuiltinError(`operand ${pos} must be string`);
  return v;
}

function intArg(v: unknown, pos: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new BuiltinError(`operand ${pos} must be integer number`);
  return v;
}

/** Nanoseconds from a JSON number; OPA rejects anything that is not an exact int64. */
function nsArg(v: unknown): bigint {
  if (typeof v !== 'number') throw new BuiltinError('operand 1 must be number');
  if (!Number.isInteger(v)) throw new BuiltinError('timestamp too big');
  // Operands reach us through JSON.parse, so every int64 within 512 of the maximum (year 2262,
  // e.g. time.parse_rfc3339_ns of the last representable instant) arrives as the double 2^63.
  // OPA accepts those; reading 2^63 as the maximum keeps them defined, off by at most 512 ns.
  const ns = v === 2 ** 63 ? INT64_MAX : BigInt(v);
  if (ns < INT64_MIN || ns > INT64_MAX) throw new BuiltinError('timestamp too big');
  return ns;
}

function zonedArg(x: unknown): ZonedInstant {
  if (typeof x === 'number') return { ns: nsArg(x), zone: resolveTimeZone('UTC') };
  if (!Array.isArray(x) || x.length === 0) {
    throw new BuiltinError('operand 1 must be one of {number (ns), [number (ns), string (tz)]}');
  }
  const ns = nsArg(x[0]);
  if (x.length < 2) return { ns, zone: resolveTimeZone('UTC') };
  const tz = x[1] as unknown;
  if (typeof tz !== 'string') throw new BuiltinError('operand 1 must be string');
  try {
    return { ns, zone: resolveTimeZone(tz) };
  } catch {
    throw new BuiltinError('unknown time zone');
  }
}

function splitNs(ns: bigint): { ms: number; subMsNs: bigint } {
  let ms = ns / NS_PER_MS;
  if (ns < 0n && ms * NS_PER_MS !== ns) ms -= 1n; // floor, not truncate
  return { ms: Number(ms), subMsNs: ns - ms * NS_PER_MS };
}

function wallClock(t: ZonedInstant): ReturnType<TimeZone['wallClock']> {
  return t.zone.wallClock(splitNs(t.ns).ms);
}

function checkedNs(ns: bigint): bigint {
  if (ns < INT64_MIN || ns > INT64_MAX) throw new BuiltinError('time outside of valid range');
  return ns;
}

function addDate(t: ZonedInstant, years: number, months: number, days: number): bigint {
  const { ms, subMsNs } = splitNs(t.ns);
  const w = t.zone.wallClock(ms);
  const wall = utcMs(
    w.year + years,
    w.month - 1 + months,
    w.day + days,
    w.hour,
    w.minute,
    w.second,
    w.millisecond,
  );
  if (Number.isNaN(wall)) throw new BuiltinError('time outside of valid range');
  return checkedNs(BigInt(t.zone.instantOf(wall)) * NS_PER_MS + subMsNs);
}

/** Port of OPA's time.diff (itself from github.com/icza/gox): calendar difference, both read in the first zone. */
function diff(a: ZonedInstant, b: ZonedInstant): number[] {
  const [t1, t2] = a.ns <= b.ns ? [a.ns, b.ns] : [b.ns, a.ns];
  const w1 = a.zone.wallClock(splitNs(t1).ms);
  const w2 = a.zone.wallClock(splitNs(t2).ms);
  let year = w2.year - w1.year;
  let month = w2.month - w1.month;
  let day = w2.day - w1.day;
  let hour = w2.hour - w1.hour;
  let min = w2.minute - w1.minute;
  let sec = w2.second - w1.second;
  if (sec < 0) {
    sec += 60;
    min--;
  }
  if (min < 0) {
    min += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    day += daysIn(w1.year, w1.month);
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, min, sec];
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/** Go's `time.Parse(time.RFC3339, s)`: fractional seconds allowed, offsets ±hh:mm or Z, fields range-checked. */
function parseRfc3339(s: string): bigint {
  const m = RFC3339.exec(s);
  if (!m) throw new BuiltinError('cannot parse as RFC 3339');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new BuiltinError('cannot parse as RFC 3339: field out of range');
  }
  const fraction = BigInt((m[7] ?? '').slice(0, 9).padEnd(9, '0'));
  let offsetSec = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw new BuiltinError('cannot parse as RFC 3339: offset out of range');
    offsetSec = (m[9] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const wallMs = utcMs(year, month - 1, day, hour, minute, second, 0);
  return checkedNs(BigInt(wallMs - offsetSec * 1000) * NS_PER_MS + fraction);
}

const GO_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const EXTENDED_UNIT_HOURS: Record<string, number> = { d: 24, w: 7 * 24, y: 365 * 24 };

/** OPA's time.parse_duration_ns: Go's time.ParseDuration plus d/w/y units (rewritten to hours first, as OPA does). */
function parseExtendedDuration(s: string): bigint {
  if (s === '') throw new BuiltinError('time: invalid duration');
  if (!/[dwy]/.test(s)) return parseGoDuration(s);
  const m = /^([-+]?)((?:[0-9.]+(?:ms|us|µs|ns|[a-z]))+)$/.exec(s);
  if (!m) throw new BuiltinError('time: invalid duration');
  let rewritten = m[1];
  for (const seg of m[2].matchAll(/([0-9.]+)(ms|us|µs|ns|[a-z])/g)) {
    const hours = EXTENDED_UNIT_HOURS[seg[2]];
    if (hours === undefined) {
      rewritten += seg[0];
      continue;
    }
    if (!/^(?:\d+\.?\d*|\.\d+)$/.test(seg[1])) throw new BuiltinError('time: invalid duration');
    rewritten += `${formatFloat(Number(seg[1]) * hours)}h`;
  }
  return parseGoDuration(rewritten);
}

/** strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never exponent notation. */
function formatFloat(f: number): string {
  const shortest = String(f);
  if (!/e/i.test(shortest)) return shortest;
  return f.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/** Port of Go's time.ParseDuration, including its float arithmetic for fractional parts. */
function parseGoDuration(input: string): bigint {
  const invalid = () => new BuiltinError('time: invalid duration');
  let s = input;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  const limit = 1n << 63n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) throw invalid();
    const intPart = /^\d*/.exec(s)?.[0] ?? '';
    s = s.slice(intPart.length);
    const pre = intPart !== '';
    let v = pre ? BigInt(intPart) : 0n;
    if (v > limit) throw invalid();
    let f = 0;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      const frac = /^\.(\d*)/.exec(s)?.[1] ?? '';
      s = s.slice(frac.length + 1);
      post = frac !== '';
      // Go stops accumulating fraction digits once they would overflow int64.
      let fi = 0n;
      let overflow = false;
      for (const c of frac) {
        if (overflow) continue;
        const next = fi * 10n + BigInt(c);
        if (next >= limit) {
          overflow = true;
          continue;
        }
        fi = next;
        scale *= 10;
      }
      f = Number(fi);
    }
    if (!pre && !post) throw invalid();
    const unitMatch = /^[^\d.]*/.exec(s)?.[0] ?? '';
    if (unitMatch === '') throw new BuiltinError('time: missing unit in duration');
    const unit = GO_UNITS[unitMatch];
    if (unit === undefined) throw new BuiltinError('time: unknown unit in duration');
    s = s.slice(unitMatch.length);
    if (v > limit / unit) throw invalid();
    v *= unit;
    if (f > 0) {
      v += BigInt(Math.trunc(f * (Number(unit) / scale)));
      if (v > limit) throw invalid();
    }
    total += v;
    if (total > limit) throw invalid();
  }
  if (neg) return -total;
  if (total > limit - 1n) throw invalid();
  return total;
}
