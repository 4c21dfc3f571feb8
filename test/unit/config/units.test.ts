import { describe, expect, test } from 'vitest';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../../../ops/config/index.js';

describe('durations', () => {
  test.each([
    ['30s', 30_000], ['5m', 300_000], ['6h', 21_600_000], ['1h30m', 5_400_000], ['500ms', 500],
    ['1.5s', 1_500], ['2h45m30s', 9_930_000], ['250us', 0.25], ['0', 0], ['0s', 0], ['90', 90_000], ['.5s', 500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test('numbers are seconds', () => {
    expect(parseDuration(30)).toBe(30_000);
    expect(parseDuration(0.25)).toBe(250);
  });

  test.each(['', '5 minutes', '1d', 'h', '5m3', 'abc', '1h 30m', '1.2.3s'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  test('negative values parse so the field can say they are negative', () => {
    expect(parseDuration('-5s')).toBe(-5_000);
  });

  test.each([[0, '0s'], [500, '500ms'], [30_000, '30s'], [90_000, '1m30s'], [5_400_000, '1h30m'], [21_600_000, '6h'], [1_500, '1.5s']])(
    'formats %d ms as %s', (ms, text) => {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDuration(text)).toBe(ms);
    });
});

describe('sizes', () => {
  test.each([
    ['0', 0], ['1024', 1024], ['256MB', 268_435_456], ['10MiB', 10_485_760], ['1GB', 1_073_741_824], ['5GiB', 5_368_709_120],
    ['512KB', 524_288], ['512kib', 524_288], ['2TiB', 2_199_023_255_552], ['1.5KiB', 1536], ['100B', 100], ['8 MiB', 8_388_608], ['4k', 4096],
  ])('%s → %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test('integers are bytes', () => {
    expect(parseSize(5_368_709_120)).toBe(5_368_709_120);
    expect(parseSize(1.5)).toBeUndefined();
  });

  test.each(['', 'MB', '10XB', 'ten', '1e3', '99999999999PB'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });

  test.each([[0, '0 B'], [100, '100 B'], [1536, '1.5 KiB'], [10_485_760, '10 MiB'], [5_368_709_120, '5 GiB']])(
    'formats %d bytes as %s', (bytes, text) => {
      expect(formatBytes(bytes)).toBe(text);
    });
});
