/**
 * Durations and sizes as operators write them in the config file, and back again for
 * summaries. Durations are Go-style (`30s`, `5m`, `1h30m`, `500ms`) or a plain number of
 * seconds; sizes are a number of bytes or a number with a unit (`256MB`, `10MiB`). Every unit
 * is binary (KB = KiB = 1024 bytes), as in the original's size parser, so a size copied from
 * an existing config means the same number of bytes here.
 */

const durationUnitsMs: Readonly<Record<string, number>> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000,
};

const sizeUnits: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10,
  m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20,
  g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30,
  t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40,
  p: 2 ** 50, pb: 2 ** 50, pib: 2 ** 50,
};

/** Removes float noise such as 1100.0000000000002 without touching sub-millisecond values. */
function tidy(ms: number): number {
  return Math.round(ms * 1e6) / 1e6;
}

/** Parses a Go-style duration string or a number of seconds into milliseconds; undefined if malformed. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? tidy(input * 1_000) : undefined;
  const text = input.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return tidy(Number(text) * 1_000);
  const match = /^(-?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!match) return undefined;
  let total = 0;
  for (const part of (match[2] ?? '').matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (durationUnitsMs[part[2] ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) return undefined;
  return tidy(match[1] === '-' ? -total : total);
}

/** Parses a byte count or a size with a binary unit into bytes; undefined if malformed. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) ? input : undefined;
  const match = /^(-?\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim());
  if (!match) return undefined;
  const unit = sizeUnits[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `5368709120` → `5 GiB`, `1536` → `1.5 KiB`, `100` → `100 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let index = 0;
  while (Math.abs(value) >= 1024 && index < units.length - 1) {
    value /= 1024;
    index += 1;
  }
  const shown = index === 0 ? String(value) : String(Math.round(value * 100) / 100);
  return `${shown} ${units[index] ?? 'B'}`;
}

/** `5400000` → `1h30m`, `500` → `500ms`, `90000` → `1m30s`, `0` → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${tidy(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = tidy((ms % 60_000) / 1_000);
  return `${hours > 0 ? `${hours}h` : ''}${minutes > 0 ? `${minutes}m` : ''}${seconds > 0 ? `${seconds}s` : ''}`;
}
