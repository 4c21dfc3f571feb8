/** Timestamps as S3 writes them (ISO-8601 in XML, IMF-fixdate in headers) and HTTP-date parsing. */

const DAY_MS = 86_400_000;
let cachedDay = NaN;
let cachedDayPrefix = '';

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `2026-11-25T12:34:56.789Z` — S3's XML timestamp, milliseconds included. Listings write a
 * thousand of these per page, mostly from few days, so the date part is cached and only the
 * time of day is formatted (≈10× faster than toISOString).
 */
export function formatIsoTimestamp(epochMs: number): string {
  const day = Math.floor(epochMs / DAY_MS);
  if (day !== cachedDay) {
    const iso = new Date(day * DAY_MS).toISOString();
    // Years outside 0000–9999 have a longer, signed form: leave those to toISOString.
    if (iso.length !== 24) return new Date(epochMs).toISOString();
    cachedDay = day;
    cachedDayPrefix = iso.slice(0, 11);
  }
  let rest = epochMs - day * DAY_MS;
  const ms = rest % 1000;
  rest = (rest - ms) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${cachedDayPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(ms)}Z`;
}

/** `Wed, 25 Nov 2026 12:34:56 GMT` — IMF-fixdate, for Last-Modified and friends. */
export function formatHttpDate(epochMs: number): string {
  return new Date(epochMs).toUTCString();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const DAY = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const LONG_DAY = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(`^(?:${LONG_DAY}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^(?:${DAY}) (${MONTH}) ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

function build(year: number, month: string, day: string, h: string, m: string, s: string): number | undefined {
  const monthIndex = MONTHS.indexOf(month);
  const d = Number(day);
  const hour = Number(h);
  const minute = Number(m);
  const second = Number(s);
  if (hour > 23 || minute > 59 || second > 60 || d < 1) return undefined;
  const ms = Date.UTC(year, monthIndex, d, hour, minute, Math.min(second, 59));
  if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== d) return undefined;
  // Date.UTC maps years 0–99 to 1900–1999; a four-digit year is meant literally.
  return year < 100 ? new Date(ms).setUTCFullYear(year) : ms;
}

/**
 * Parses an HTTP-date in any of the three forms RFC 9110 §5.6.7 requires recipients to accept
 * (IMF-fixdate, obsolete RFC 850, asctime) to epoch ms; undefined when it is none of them, so
 * the conditional header is ignored as S3 ignores it. An RFC 850 two-digit year is taken as the
 * most recent year with those digits that is not more than 50 years after `nowMs`.
 */
export function parseHttpDate(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m) return build(Number(m[3]), m[2] ?? '', m[1] ?? '', m[4] ?? '', m[5] ?? '', m[6] ?? '');
  m = ASCTIME.exec(text);
  if (m) return build(Number(m[6]), m[1] ?? '', (m[2] ?? '').trim(), m[3] ?? '', m[4] ?? '', m[5] ?? '');
  m = RFC850.exec(text);
  if (m) {
    const currentYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + Number(m[3]);
    if (year > currentYear + 50) year -= 100;
    return build(year, m[2] ?? '', m[1] ?? '', m[4] ?? '', m[5] ?? '', m[6] ?? '');
  }
  return undefined;
}
