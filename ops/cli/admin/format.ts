import { formatBytes } from '../progress.js';

export interface Column {
  title: string;
  align?: 'left' | 'right';
}

/** An aligned table: a header row, then one row per entry; the last column is never padded. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => columns.map((c, i) => {
    const cell = cells[i] ?? '';
    if (i === columns.length - 1 && c.align !== 'right') return cell;
    return c.align === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0);
  }).join('  ').trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join('\n');
}

/** `label:  value` lines with the values aligned. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([k]) => k.length)) + 1;
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`).join('\n');
}

/** ISO time to the second, in UTC: `2025-06-01 12:34:56Z`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `used / limit`, or `used` alone when unlimited (limit 0). */
export function withLimit(used: string, limit: number, format: (n: number) => string = String): string {
  return limit > 0 ? `${used} / ${format(limit)}` : used;
}

export const size = (n: number): string => formatBytes(n);
export const dash = (v: string | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : v);
