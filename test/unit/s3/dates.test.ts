import { describe, expect, it } from 'vitest';
import { formatHttpDate, formatIsoTimestamp, parseHttpDate } from '../../../gateway/s3/xml/dates.js';

const T = Date.UTC(2026, 10, 25, 12, 34, 56, 789); // Wed, 25 Nov 2026
const NOW = Date.UTC(2026, 0, 1);

describe('formatting', () => {
  it('formats ISO-8601 with milliseconds and Z', () => {
    expect(formatIsoTimestamp(T)).toBe('2026-11-25T12:34:56.789Z');
    expect(formatIsoTimestamp(Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00.000Z');
  });

  it.each([
    0,
    1,
    999,
    86_399_999,
    86_400_000,
    -1,
    -86_400_001,
    Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    Date.UTC(10000, 0, 1),
    Date.UTC(-1, 0, 1),
  ])('formats %d exactly as toISOString, across day boundaries and odd years', (ms) => {
    expect(formatIsoTimestamp(ms)).toBe(new Date(ms).toISOString());
  });

  it('formats interleaved days correctly (the day cache switches)', () => {
    const a = Date.UTC(2026, 0, 1, 1, 2, 3, 4);
    const b = Date.UTC(2027, 5, 6, 7, 8, 9, 10);
    for (const ms of [a, b, a, a, b]) expect(formatIsoTimestamp(ms)).toBe(new Date(ms).toISOString());
  });

  it('formats an IMF-fixdate HTTP-date (seconds, GMT)', () => {
    expect(formatHttpDate(T)).toBe('Wed, 25 Nov 2026 12:34:56 GMT');
    expect(formatHttpDate(Date.UTC(1994, 10, 6, 8, 49, 37))).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
  });
});

describe('parseHttpDate', () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  it.each([
    'Sun, 06 Nov 1994 08:49:37 GMT',
    'Sunday, 06-Nov-94 08:49:37 GMT',
    'Sun Nov  6 08:49:37 1994',
    '  Sun, 06 Nov 1994 08:49:37 GMT  ',
  ])('given the RFC 9110 form %j, then the instant', (value) => {
    expect(parseHttpDate(value, NOW)).toBe(expected);
  });

  it('round-trips what formatHttpDate writes, at second resolution', () => {
    expect(parseHttpDate(formatHttpDate(T), NOW)).toBe(T - 789);
  });

  it('reads an asctime date with a two-digit day', () => {
    expect(parseHttpDate('Wed Nov 25 12:34:56 2026', NOW)).toBe(T - 789);
  });

  it('takes an RFC 850 two-digit year as at most 50 years ahead of now', () => {
    expect(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT', NOW)).toBe(Date.UTC(2070, 0, 1));
    expect(parseHttpDate('Monday, 01-Jan-80 00:00:00 GMT', NOW)).toBe(Date.UTC(1980, 0, 1));
    expect(parseHttpDate('Friday, 01-Jan-27 00:00:00 GMT', NOW)).toBe(Date.UTC(2027, 0, 1));
  });

  it.each([
    undefined,
    '',
    'yesterday',
    '2026-11-25T12:34:56Z',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 00 Nov 1994 08:49:37 GMT',
    'Xyz, 06 Nov 1994 08:49:37 GMT',
    'Sun, 06 Foo 1994 08:49:37 GMT',
    '784111777',
  ])('given the invalid %j, then undefined (the header is ignored)', (value) => {
    expect(parseHttpDate(value, NOW)).toBeUndefined();
  });

  it('accepts 29 Feb only in a leap year', () => {
    expect(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT', NOW)).toBe(Date.UTC(2024, 1, 29));
    expect(parseHttpDate('Thu, 29 Feb 2025 00:00:00 GMT', NOW)).toBeUndefined();
  });
});
