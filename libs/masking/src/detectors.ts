/**
 * PII and secret detectors. Every detector is a hand-written scanner rather than a regular
 * expression: JavaScript's backtracking engine turns innocent-looking patterns (an e-mail regex on
 * `'a'.repeat(1e6) + '@'`) into quadratic time, and the enforcer runs these on 8 MiB bodies. Each
 * scanner looks at every character a bounded number of times, so a scan is linear in the text.
 */

export const DETECTORS = ['credit_card', 'email', 'ssn', 'iban', 'phone', 'secret'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/**
 * The order detectors claim text in. Later detectors only see what earlier ones left: secrets
 * first (tokens are full of digit runs), then e-mail (local parts may hold digits), IBAN before
 * credit_card (an IBAN's groups of four can look like a card), and phone last so it never
 * re-matches digits a card, SSN or IBAN already took.
 */
export const DETECTION_ORDER: readonly DetectorName[] = [
  'secret',
  'email',
  'iban',
  'credit_card',
  'ssn',
  'phone',
];

/** Receives one hit `[start, end)`; hits arrive in ascending, non-overlapping order. */
export type HitSink = (start: number, end: number) => void;

/**
 * Scans `text[from, to)` and reports hits inside it. Characters outside the range are only read
 * as context (is the digit run longer than what is in range?), never reported.
 */
export type Scanner = (text: string, from: number, to: number, hit: HitSink) => void;

const SPACE = 0x20;
const DASH = 0x2d;
const DOT = 0x2e;
const PLUS = 0x2b;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;

function at(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

export function isAsciiAlnum(c: number): boolean {
  return isDigit(c) || isUpper(c) || isLower(c);
}

function isBase64Url(c: number): boolean {
  return isAsciiAlnum(c) || c === DASH || c === 0x5f;
}

/** Length of the run of characters satisfying `pred` starting at `i`, not reading past `to`. */
function runLength(text: string, i: number, to: number, pred: (c: number) => boolean): number {
  let j = i;
  while (j < to && pred(text.charCodeAt(j))) j++;
  return j - i;
}

function startsWithAt(text: string, i: number, to: number, prefix: string): boolean {
  return i + prefix.length <= to && text.startsWith(prefix, i);
}

/**
 * The number goes on past its edge: `c` is the character next to the edge and `beyond` the one
 * after it (a decimal point followed by a digit makes the digits part of a longer number).
 */
function continuesNumber(c: number, beyond: number): boolean {
  return isAsciiAlnum(c) || (c === DOT && isDigit(beyond));
}

// ---------------------------------------------------------------------------------------------
// credit_card

function luhnValid(text: string, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let k = end - 1; k >= start; k--) {
    const c = text.charCodeAt(k);
    if (!isDigit(c)) continue;
    let d = c - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function isCardSeparator(c: number): boolean {
  return c === SPACE || c === DASH;
}

/**
 * 13–19 digits passing the Luhn check, either as one run or as groups of 3–6 digits joined by
 * single spaces or dashes. A run glued to letters or to more digits (or a decimal point) is part
 * of something longer and never matches. Within a longer chain of groups, the longest Luhn-valid
 * window of whole groups from the left matches, so a card followed by " 2024" is still found.
 */
const scanCreditCards: Scanner = (text, from, to, hit) => {
  let i = from;
  while (i < to) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const groupEnd = i + runLength(text, i, to, isDigit);
    const len = groupEnd - i;
    const prev = at(text, i - 1);
    const prev2 = at(text, i - 2);
    // After "<digit><separator>" we are inside a chain of groups; windows may start here.
    const interior = isCardSeparator(prev) && isDigit(prev2);
    let best = -1;
    if (interior || !continuesNumber(prev, prev2)) {
      if (len >= 13 && len <= 19) {
        if (cardRightOk(text, groupEnd, to) && luhnValid(text, i, groupEnd)) best = groupEnd;
      } else if (len >= 3 && len <= 6) {
        let digits = len;
        let end = groupEnd;
        while (
          isCardSeparator(at(text, end)) &&
          end + 1 < to &&
          isDigit(text.charCodeAt(end + 1))
        ) {
          const next = end + 1;
          const nextLen = runLength(text, next, Math.min(to, next + 7), isDigit);
          if (nextLen < 3 || nextLen > 6) break;
          digits += nextLen;
          if (digits > 19) break;
          end = next + nextLen;
          if (digits >= 13 && cardRightOk(text, end, to) && luhnValid(text, i, end)) best = end;
        }
      }
    }
    if (best >= 0) {
      hit(i, best);
      i = best;
    } else {
      i = groupEnd;
    }
  }
};

function cardRightOk(text: string, end: number, to: number): boolean {
  const next = at(text, end);
  if (isCardSeparator(next) && end + 1 < to && isDigit(at(text, end + 1))) return true;
  return !continuesNumber(next, at(text, end + 1));
}

// ---------------------------------------------------------------------------------------------
// ssn

/**
 * US SSN written AAA-GG-SSSS or AAA GG SSSS (one separator kind), not inside a longer chain of
 * numbers, with the never-issued values excluded: area 000, 666 and 900–999, group 00, serial
 * 0000. Bare nine-digit runs do not match: too many other identifiers look like that.
 */
const scanSsns: Scanner = (text, from, to, hit) => {
  let i = from;
  while (i < to) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const run = runLength(text, i, to, isDigit);
    if (run === 3 && i + 11 <= to && ssnAt(text, i)) {
      hit(i, i + 11);
      i += 11;
    } else {
      i += run;
    }
  }
};

function ssnAt(text: string, i: number): boolean {
  const sep = text.charCodeAt(i + 3);
  if (sep !== DASH && sep !== SPACE) return false;
  if (text.charCodeAt(i + 6) !== sep) return false;
  for (const k of [4, 5, 7, 8, 9, 10]) if (!isDigit(text.charCodeAt(i + k))) return false;
  if (!numberBoundary(text, i - 1, i - 2) || !numberBoundary(text, i + 11, i + 12)) return false;
  const area = Number(text.slice(i, i + 3));
  const group = Number(text.slice(i + 4, i + 6));
  const serial = Number(text.slice(i + 7, i + 11));
  return area !== 0 && area !== 666 && area < 900 && group !== 0 && serial !== 0;
}

/**
 * True when the character at `edge` ends a number-like token: not a letter or digit, and not a
 * separator that continues into another digit (`123-45-6789-0` is not an SSN).
 */
function numberBoundary(text: string, edge: number, beyond: number): boolean {
  const c = at(text, edge);
  if (isAsciiAlnum(c)) return false;
  if ((c === DASH || c === SPACE || c === DOT) && isDigit(at(text, beyond))) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// iban

function isIbanChar(c: number): boolean {
  return isUpper(c) || isDigit(c);
}

/** ISO 7064 mod 97-10 over the IBAN with separators dropped: valid when the remainder is 1. */
function ibanChecksumValid(text: string, start: number, end: number): boolean {
  // The first four characters move to the end; letters count as two digits (A = 10 … Z = 35).
  let r = 0;
  const feed = (from: number, to: number) => {
    for (let k = from; k < to; k++) {
      const c = text.charCodeAt(k);
      if (c === SPACE) continue;
      r = isDigit(c) ? (r * 10 + (c - 0x30)) % 97 : (r * 100 + (c - 55)) % 97;
    }
  };
  feed(start + 4, end);
  feed(start, start + 4);
  return r === 1;
}

/**
 * Two upper-case letters, two check digits, then 11–30 upper-case letters or digits, either in
 * one token or in space-separated groups of four (the last group may be shorter). The mod-97
 * check must hold. When a spaced IBAN is followed by another four-character word, shorter
 * group-aligned prefixes are tried so the word does not hide the IBAN.
 */
const scanIbans: Scanner = (text, from, to, hit) => {
  let i = from;
  while (i + 15 <= to) {
    const c = text.charCodeAt(i);
    if (
      !isUpper(c) ||
      !isUpper(text.charCodeAt(i + 1)) ||
      !isDigit(text.charCodeAt(i + 2)) ||
      !isDigit(text.charCodeAt(i + 3)) ||
      isAsciiAlnum(at(text, i - 1))
    ) {
      i++;
      continue;
    }
    const end = ibanEndAt(text, i, to);
    if (end > 0) {
      hit(i, end);
      i = end;
    } else {
      i += 4;
    }
  }
};

function ibanEndAt(text: string, i: number, to: number): number {
  const compact = runLength(text, i + 4, Math.min(to, i + 35), isIbanChar);
  if (compact > 0) {
    const end = i + 4 + compact;
    const shaped = compact >= 11 && compact <= 30 && !isAsciiAlnum(at(text, end));
    return shaped && ibanChecksumValid(text, i, end) ? end : -1;
  }
  // Spaced form: "DE89 3704 0044 0532 0130 00".
  const ends: number[] = [];
  let pos = i + 4;
  let bban = 0;
  while (pos < to && text.charCodeAt(pos) === SPACE) {
    const g = runLength(text, pos + 1, Math.min(to, pos + 6), isIbanChar);
    if (g === 0 || g > 4 || isAsciiAlnum(at(text, pos + 1 + g)) || bban + g > 30) break;
    bban += g;
    pos += 1 + g;
    ends.push(pos);
    if (g < 4) break;
  }
  for (let k = ends.length - 1; k >= 0; k--) {
    const end = ends[k];
    const groupsChars = end - (i + 4) - (k + 1);
    if (groupsChars >= 11 && ibanChecksumValid(text, i, end)) return end;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// email

function isLocalChar(c: number): boolean {
  return isAsciiAlnum(c) || c === DOT || c === 0x5f || c === 0x25 || c === PLUS || c === DASH;
}

function isLabelChar(c: number): boolean {
  return isAsciiAlnum(c) || c === DASH;
}

/**
 * Pragmatic addr-spec: a local part of letters, digits and `._%+-` (at most 64, no leading,
 * trailing or doubled dot), `@`, then at least two DNS labels of which the last is alphabetic
 * (the TLD, two letters or more). Quoted local parts and internationalised addresses are not
 * matched. Work per `@` is bounded (64 + 253 characters), so the scan is linear.
 */
const scanEmails: Scanner = (text, from, to, hit) => {
  let floor = from;
  let atSign = text.indexOf('@', from);
  while (atSign !== -1 && atSign < to) {
    const found = emailAt(text, atSign, floor, to);
    if (found !== null) {
      hit(found[0], found[1]);
      floor = found[1];
      atSign = text.indexOf('@', found[1]);
    } else {
      atSign = text.indexOf('@', atSign + 1);
    }
  }
};

function emailAt(text: string, atSign: number, floor: number, to: number): [number, number] | null {
  let a = atSign;
  while (a > floor && isLocalChar(text.charCodeAt(a - 1))) {
    a--;
    if (atSign - a > 64) return null;
  }
  while (a < atSign && text.charCodeAt(a) === DOT) a++;
  if (a === atSign || text.charCodeAt(atSign - 1) === DOT) return null;
  if (text.slice(a, atSign).includes('..')) return null;
  let pos = atSign + 1;
  let labels = 0;
  let good = -1;
  const limit = Math.min(to, atSign + 1 + 253);
  for (;;) {
    const len = runLength(text, pos, limit, isLabelChar);
    if (len === 0 || len > 63) break;
    if (text.charCodeAt(pos) === DASH || text.charCodeAt(pos + len - 1) === DASH) break;
    labels++;
    const labelEnd = pos + len;
    if (labels >= 2 && len >= 2 && runLength(text, pos, labelEnd, isAlpha) === len) good = labelEnd;
    if (at(text, labelEnd) !== DOT || labelEnd + 1 >= limit) break;
    pos = labelEnd + 1;
  }
  return good < 0 ? null : [a, good];
}

function isAlpha(c: number): boolean {
  return isUpper(c) || isLower(c);
}

// ---------------------------------------------------------------------------------------------
// phone

function isPhoneSeparator(c: number): boolean {
  return c === SPACE || c === DASH || c === DOT || c === OPEN_PAREN || c === CLOSE_PAREN;
}

/**
 * E.164 (`+` then 8–15 digits, with up to two separators from ` -.()` between digits) and the
 * North-American forms `(555) 123-4567`, `(555)123-4567`, `555-123-4567`, `555.123.4567`, each
 * optionally after `1-`/`1.`. Anything glued to letters or further digits does not match.
 */
const scanPhones: Scanner = (text, from, to, hit) => {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    let end = -1;
    if (c === PLUS) end = e164At(text, i, to);
    else if (c === OPEN_PAREN || isDigit(c)) end = northAmericanAt(text, i, to);
    if (end > 0) {
      hit(i, end);
      i = end;
    } else if (isDigit(c)) {
      i += runLength(text, i, to, isDigit);
    } else {
      i++;
    }
  }
};

function e164At(text: string, i: number, to: number): number {
  const prev = at(text, i - 1);
  if (isAsciiAlnum(prev) || prev === PLUS || !isDigit(at(text, i + 1))) return -1;
  let pos = i + 1;
  let digits = 0;
  let lastDigitEnd = -1;
  while (pos < to) {
    const c = text.charCodeAt(pos);
    if (isDigit(c)) {
      digits++;
      if (digits > 15) return -1;
      pos++;
      lastDigitEnd = pos;
      continue;
    }
    const seps = runLength(text, pos, Math.min(to, pos + 3), isPhoneSeparator);
    if (seps === 0 || seps > 2 || !isDigit(at(text, pos + seps)) || pos + seps >= to) break;
    pos += seps;
  }
  if (digits < 8 || isAsciiAlnum(at(text, lastDigitEnd))) return -1;
  return lastDigitEnd;
}

function digitsAt(text: string, i: number, n: number, to: number): boolean {
  if (i + n > to) return false;
  for (let k = i; k < i + n; k++) if (!isDigit(text.charCodeAt(k))) return false;
  return true;
}

function northAmericanAt(text: string, i: number, to: number): number {
  if (!numberBoundary(text, i - 1, i - 2) || at(text, i - 1) === PLUS) return -1;
  let pos = i;
  // Optional country code "1-" / "1." before a dashed or dotted number.
  if (text.charCodeAt(pos) === 0x31) {
    const sep = at(text, pos + 1);
    if ((sep === DASH || sep === DOT) && digitsAt(text, pos + 2, 3, to)) {
      const rest = dashedAt(text, pos + 2, to, sep);
      if (rest > 0) return rest;
    }
  }
  if (text.charCodeAt(pos) === OPEN_PAREN) {
    if (!digitsAt(text, pos + 1, 3, to) || at(text, pos + 4) !== CLOSE_PAREN) return -1;
    pos += 5;
    if (at(text, pos) === SPACE) pos++;
    if (!digitsAt(text, pos, 3, to)) return -1;
    const sep = at(text, pos + 3);
    if (sep !== DASH && sep !== DOT && sep !== SPACE) return -1;
    if (!digitsAt(text, pos + 4, 4, to)) return -1;
    const end = pos + 8;
    return numberBoundary(text, end, end + 1) ? end : -1;
  }
  const sep = at(text, pos + 3);
  if (sep !== DASH && sep !== DOT) return -1;
  return dashedAt(text, pos, to, sep);
}

/** `AAA<sep>EEE<sep>NNNN` at `i` with one separator kind, ending at a number boundary. */
function dashedAt(text: string, i: number, to: number, sep: number): number {
  if (!digitsAt(text, i, 3, to) || at(text, i + 3) !== sep) return -1;
  if (!digitsAt(text, i + 4, 3, to) || at(text, i + 7) !== sep) return -1;
  if (!digitsAt(text, i + 8, 4, to)) return -1;
  const end = i + 12;
  return numberBoundary(text, end, end + 1) ? end : -1;
}

// ---------------------------------------------------------------------------------------------
// secret

function isBearerTokenChar(c: number): boolean {
  // RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" followed by "="s.
  return isBase64Url(c) || c === DOT || c === 0x7e || c === PLUS || c === 0x2f || c === 0x3d;
}

const GITHUB_PREFIXES = ['ghp_', 'gho_', 'ghs_', 'ghu_', 'ghr_'];
const STRIPE_PREFIXES = ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'];
const PEM_BEGIN = '-----BEGIN ';
const PEM_DASHES = '-----';
/** First characters of every shape below; other positions are skipped without a look. */
const SECRET_TRIGGERS = new Set([...'-eAgrsxBb'].map((ch) => ch.charCodeAt(0)));

/**
 * Credentials by shape: JWTs (three or five base64url segments, the first starting `eyJ`), AWS
 * access key ids (`AKIA`/`ASIA` + 16), GitHub tokens (`ghp_`/`gho_`/`ghs_`/`ghu_`/`ghr_` + 36 or
 * more), Stripe keys (`sk_live_`/`sk_test_`/`rk_live_`/`rk_test_` + 16 or more), Slack tokens
 * (`xoxa-`/`xoxb-`/`xoxp-`/`xoxr-`/`xoxs-`), Google API keys (`AIza` + 35), PEM private-key
 * blocks (to the END line, or to the end of the text when it is missing), and the token after
 * `Bearer `. Every shape must start a token: a prefix in the middle of a word does not match.
 */
const scanSecrets: Scanner = (text, from, to, hit) => {
  let i = from;
  while (i < to) {
    const end = SECRET_TRIGGERS.has(text.charCodeAt(i)) ? secretAt(text, i, to) : null;
    if (end === null) {
      i++;
      continue;
    }
    hit(end[0], end[1]);
    i = end[1];
  }
};

function secretAt(text: string, i: number, to: number): [number, number] | null {
  const c = text.charCodeAt(i);
  const prev = at(text, i - 1);
  if (c === DASH) return prev === DASH ? null : pemAt(text, i, to);
  if (isAsciiAlnum(prev)) return null;
  switch (c) {
    case 0x65: // e
      return !isBase64Url(prev) && prev !== DOT && startsWithAt(text, i, to, 'eyJ')
        ? jwtAt(text, i, to)
        : null;
    case 0x41: // A
      if (startsWithAt(text, i, to, 'AKIA') || startsWithAt(text, i, to, 'ASIA')) {
        const n = runLength(text, i + 4, Math.min(to, i + 21), (k) => isUpper(k) || isDigit(k));
        return n === 16 && !isAsciiAlnum(at(text, i + 20)) ? [i, i + 20] : null;
      }
      if (startsWithAt(text, i, to, 'AIza')) {
        const n = runLength(text, i + 4, Math.min(to, i + 40), isBase64Url);
        return n === 35 && !isBase64Url(at(text, i + 39)) ? [i, i + 39] : null;
      }
      return null;
    case 0x67: // g
      return prefixedAt(text, i, to, GITHUB_PREFIXES, 36, isAsciiAlnum);
    case 0x72: // r
    case 0x73: // s
      return prefixedAt(text, i, to, STRIPE_PREFIXES, 16, isAsciiAlnum);
    case 0x78: {
      // x: Slack "xox[abprs]-…"
      const kind = at(text, i + 3);
      if (!startsWithAt(text, i, to, 'xox') || at(text, i + 4) !== DASH) return null;
      if (![0x61, 0x62, 0x70, 0x72, 0x73].includes(kind)) return null;
      const n = runLength(text, i + 5, to, (k) => isAsciiAlnum(k) || k === DASH);
      return n >= 10 ? [i, i + 5 + n] : null;
    }
    case 0x42: // B
    case 0x62: // b
      return bearerAt(text, i, to);
    default:
      return null;
  }
}

function prefixedAt(
  text: string,
  i: number,
  to: number,
  prefixes: readonly string[],
  min: number,
  pred: (c: number) => boolean,
): [number, number] | null {
  const prefix = prefixes.find((p) => startsWithAt(text, i, to, p));
  if (prefix === undefined) return null;
  const start = i + prefix.length;
  const n = runLength(text, start, to, pred);
  if (n < min) return null;
  return [i, start + n];
}

function jwtAt(text: string, i: number, to: number): [number, number] | null {
  const header = runLength(text, i, to, isBase64Url);
  let pos = i + header;
  if (header < 10 || at(text, pos) !== DOT || pos + 1 >= to) return null;
  const payload = runLength(text, pos + 1, to, isBase64Url);
  pos += 1 + payload;
  if (payload < 2 || at(text, pos) !== DOT) return null;
  const signature = runLength(text, pos + 1, to, isBase64Url);
  pos += 1 + signature;
  // JWE compact serialisation has five segments.
  if (at(text, pos) === DOT) {
    const four = runLength(text, pos + 1, to, isBase64Url);
    const fourEnd = pos + 1 + four;
    if (at(text, fourEnd) === DOT) {
      const five = runLength(text, fourEnd + 1, to, isBase64Url);
      if (five > 0) pos = fourEnd + 1 + five;
    }
  }
  return [i, pos];
}

function bearerAt(text: string, i: number, to: number): [number, number] | null {
  if (i + 6 > to || text.slice(i, i + 6).toLowerCase() !== 'bearer') return null;
  const spaces = runLength(text, i + 6, to, (k) => k === SPACE || k === 0x09);
  if (spaces === 0) return null;
  const start = i + 6 + spaces;
  const n = runLength(text, start, to, isBearerTokenChar);
  return n >= 20 ? [start, start + n] : null;
}

function pemAt(text: string, i: number, to: number): [number, number] | null {
  if (!startsWithAt(text, i, to, PEM_BEGIN)) return null;
  const labelStart = i + PEM_BEGIN.length;
  const labelLen = runLength(
    text,
    labelStart,
    Math.min(to, labelStart + 64),
    (k) => isUpper(k) || k === SPACE,
  );
  const label = text.slice(labelStart, labelStart + labelLen);
  if (
    !label.endsWith('PRIVATE KEY') ||
    !startsWithAt(text, labelStart + labelLen, to, PEM_DASHES)
  ) {
    return null;
  }
  const footer = `-----END ${label}-----`;
  const found = text.indexOf(footer, labelStart + labelLen + PEM_DASHES.length);
  // Without its END line the block is still key material: mask to the end rather than leak it.
  if (found === -1 || found + footer.length > to) return [i, to];
  return [i, found + footer.length];
}

/** Scanner per detector. */
export const SCANNERS: Readonly<Record<DetectorName, Scanner>> = {
  credit_card: scanCreditCards,
  email: scanEmails,
  ssn: scanSsns,
  iban: scanIbans,
  phone: scanPhones,
  secret: scanSecrets,
};
