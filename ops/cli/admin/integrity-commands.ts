import { type AdminCommandSpec, type AdminContext, output, UsageError } from './command.js';

type Skipped = { status: 'skipped'; reason: string };
type ScrubResult = { status: 'ok'; pass_id: string; checked: number; failed: number; repaired: number; unrepairable: number; skipped: number } | Skipped;
type BackfillResult = { status: 'ok'; processed: number; failed: number; conflicts: number } | Skipped;
interface IntegrityJson {
  enabled: boolean;
  verify_on_read: boolean;
  never_verified_copies: number;
  oldest_unverified_seconds: number;
  corrupt_copies: number;
  objects_without_hash: number;
  corrupt: { bucket: string; key: string; backend: string; size: number; corrupt_since: string }[];
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const copies = (n: number): string => `${n} ${n === 1 ? 'copy' : 'copies'}`;

/** `--batch-size N` (the original's `-batch-size`) as the API's `batch_size`. */
function batchBody(c: AdminContext): { batch_size: number } | undefined {
  const raw = c.values.batchSize;
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,5}$/.test(raw) || Number(raw) > 100_000) throw new UsageError('--batch-size takes a whole number from 1 to 100000');
  return { batch_size: Number(raw) };
}

function renderIntegrity(r: IntegrityJson): string {
  const lines = [
    `integrity ${r.enabled ? 'on' : 'off'}${r.enabled ? `, verify_on_read ${r.verify_on_read ? 'on' : 'off'}` : ''}`,
    `${copies(r.never_verified_copies)} never verified; the least recently verified was checked ${r.oldest_unverified_seconds} s ago`,
    `${plural(r.objects_without_hash, 'object')} without a recorded SHA-256${r.objects_without_hash > 0 ? ' (s3o admin backfill-checksums records them)' : ''}`,
    `${copies(r.corrupt_copies)} corrupt, waiting for repair${r.corrupt_copies > 0 ? ':' : ''}`,
    ...r.corrupt.map((c) => `  ${c.bucket}/${c.key} on ${c.backend} (${c.size} bytes), since ${c.corrupt_since}`),
  ];
  return lines.join('\n');
}

export const integrityCommands: AdminCommandSpec[] = [
  {
    name: 'scrub', args: [], options: ['batch-size'], summary: 'run a scrub pass now: check copies against their SHA-256, repair corrupt ones (--batch-size N)',
    run: async (c) => output(c, await c.client.post<ScrubResult>('scrub', batchBody(c)), (r) => {
      if (r.status === 'skipped') return `scrub skipped: ${r.reason}`;
      const unrepairable = r.unrepairable > 0 ? `, ${copies(r.unrepairable)} with no healthy copy to repair from (reported, kept; see s3o admin integrity)` : '';
      return `scrub pass ${r.pass_id}: ${copies(r.checked)} checked, ${r.failed} corrupt, ${r.repaired} repaired${unrepairable}${r.skipped > 0 ? `, ${r.skipped} skipped` : ''}`;
    }),
  },
  {
    name: 'backfill-checksums', args: [], options: ['batch-size'], summary: 'record the SHA-256 of objects written before integrity was on (--batch-size N)',
    run: async (c) => output(c, await c.client.post<BackfillResult>('backfill-checksums', batchBody(c)), (r) => {
      if (r.status === 'skipped') return `backfill skipped: ${r.reason}`;
      const conflicts = r.conflicts > 0 ? `, ${plural(r.conflicts, 'object')} whose copies differ (see the log)` : '';
      return `checksums recorded for ${plural(r.processed, 'object')}${r.failed > 0 ? `, ${r.failed} unreadable now` : ''}${conflicts}`;
    }),
  },
  {
    name: 'integrity', args: [], options: [], summary: 'verification figures and the corrupt copies waiting for repair',
    run: async (c) => output(c, await c.client.get<IntegrityJson>('integrity'), renderIntegrity),
  },
];
