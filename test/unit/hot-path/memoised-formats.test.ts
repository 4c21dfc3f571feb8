import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../infra/hash.js';
import { usagePeriod } from '../../../services/usage/usage-meter.js';

/** The hot path's memoised or one-shot formats must answer exactly what the plain forms do. */
describe('hot-path formats', () => {
  it('sha256Hex hashes strings as the encoding asked for and buffers as they are', () => {
    const inputs = ['', 'GET\n/b/k\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD', 'x-amz-meta-n:caf\u00e9 \u00ff', 'caf\u00e9 \u20ac'];
    for (const s of inputs) {
      expect(sha256Hex(s)).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
      expect(sha256Hex(s, 'latin1')).toBe(createHash('sha256').update(s, 'latin1').digest('hex'));
      const b = Buffer.from(s, 'utf8');
      expect(sha256Hex(b)).toBe(createHash('sha256').update(b).digest('hex'));
    }
    // latin-1 and UTF-8 differ for a char above 0x7f: the encoding is not ignored.
    expect(sha256Hex('\u00e9', 'latin1')).not.toBe(sha256Hex('\u00e9'));
  });

  it('usagePeriod is the UTC month of the instant, across month and year ends, in any order', () => {
    const instants = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 2, 1), Date.UTC(2024, 1, 1) - 1, Date.UTC(2024, 1, 1), Date.UTC(1999, 0, 1) - 1,
    ];
    for (const ms of instants) expect(usagePeriod(new Date(ms))).toBe(new Date(ms).toISOString().slice(0, 7));
  });
});
