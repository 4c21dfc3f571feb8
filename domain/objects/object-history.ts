import type { DomainEvent, EventData } from '../events/catalog.js';
import type { OrphanedCopy, StoredCopy } from '../events/common.js';

const bytes = (n: number): string => `${n} byte${n === 1 ? '' : 's'}`;
const backendsOf = (copies: readonly StoredCopy[]): string => copies.map((c) => c.backend).join(', ');
const byJob = (jobId: string | undefined): string => (jobId ? ` by job ${jobId}` : '');

function queued(displaced: readonly OrphanedCopy[], what: string): string {
  if (displaced.length === 0) return '';
  const size = displaced.reduce((n, c) => n + c.size, 0);
  return `; ${what} (${bytes(size)} on ${backendsOf(displaced)}) queued for cleanup`;
}

function describeWrite(d: EventData<'ObjectWritten'>): string {
  const verb = d.previousSize === null ? 'written' : 'overwritten';
  const how = {
    put: '',
    copy: ' by a server-side copy',
    multipart: ` by multipart upload ${d.uploadId ?? ''} (${d.parts?.length ?? 0} parts)`,
    import: ' by an import from the backend',
  }[d.origin];
  const previous = d.previousSize === null ? '' : `, replacing ${bytes(d.previousSize)}`;
  const sealed = d.encryption ? `, encrypted with key ${d.encryption.key.keyAlias} (${d.encryption.key.keyId})` : '';
  return `${verb}${how}: ${bytes(d.size)} to ${backendsOf(d.copies)}${sealed}${previous}${queued(d.displaced, 'the previous version')}`;
}

const deleteReasons: Record<EventData<'ObjectDeleted'>['reason'], string> = {
  client: 'deleted by a client request',
  lifecycle: 'deleted by a lifecycle rule',
  purge: 'deleted: its backend was purged',
  'backend-removed': 'record dropped: its backend was removed',
};

function describeDelete(d: EventData<'ObjectDeleted'>): string {
  const left = d.reclaim ? queued(d.displaced, 'its bytes') : d.displaced.length > 0 ? `; bytes left on ${backendsOf(d.displaced)}` : '';
  return `${deleteReasons[d.reason]} (${bytes(d.size)})${left}`;
}

/**
 * One readable line for an event on an object's stream, for `s3o admin history`: what
 * happened to the object, where its bytes went, and which job did it. Who asked and under
 * which request or job id is in the event's metadata, shown beside this line.
 */
export function describeObjectEvent(event: DomainEvent): string {
  switch (event.type) {
    case 'ObjectWritten':
      return describeWrite(event.data);
    case 'ReplicaAdded':
      return `replica added on ${event.data.copy.backend} (${bytes(event.data.copy.size)})${byJob(event.data.jobId)}`;
    case 'ReplicaDropped': {
      const d = event.data;
      return `replica on ${d.copy.backend} dropped (${d.reason})${byJob(d.jobId)}${d.reclaim ? '; its bytes queued for cleanup' : '; bytes left on the backend'}`;
    }
    case 'CopyMoved':
      return `copy moved ${event.data.from.backend} → ${event.data.to.backend} (${bytes(event.data.to.size)}) by job ${event.data.jobId}`;
    case 'ObjectDeleted':
      return describeDelete(event.data);
    case 'CopyVerified':
      return `copy on ${event.data.backend} verified (${event.data.component}): its SHA-256 matches`;
    case 'CopyCorrupted': {
      const d = event.data;
      const what = d.reason === 'ciphertext-authentication' ? 'its ciphertext failed authentication'
        : d.actualSha256 === null ? 'its bytes are missing' : `SHA-256 ${d.actualSha256.slice(0, 12)}…, expected ${(d.expectedSha256 ?? '').slice(0, 12)}…`;
      return `copy on ${d.backend} found corrupt (${d.component}${d.partNumber !== undefined ? `, part ${d.partNumber}` : ''}): ${what}; queued for repair`;
    }
    case 'CopyRepaired':
      return `corrupt copy on ${event.data.from.backend} repaired from ${event.data.source}: now ${event.data.to.backend} (${bytes(event.data.to.size)}); the corrupt bytes queued for cleanup`;
    case 'StoredBytesRewritten': {
      const d = event.data;
      const key = (k: { keyAlias: string; keyId: string }) => `${k.keyAlias} (${k.keyId})`;
      const how = d.change === 'rewrap' && d.encryption && d.previousKey
        ? `data key re-wrapped, key ${key(d.previousKey)} → ${key(d.encryption.key)}, and the stored headers rewritten (same ciphertext)`
        : d.encryption ? `encrypted with key ${key(d.encryption.key)}` : 'decrypted to plaintext';
      return `${how} by job ${d.jobId}: now ${bytes(d.copies.reduce((n, c) => n + c.size, 0))} stored on ${backendsOf(d.copies)}${queued(d.displaced, 'the old bytes')}`;
    }
    case 'DataKeyRewrapped': {
      const d = event.data;
      return `data key re-wrapped by job ${d.jobId}: key ${d.previousKeyAlias} (${d.previousKeyId}) → ${d.wrap.keyAlias} (${d.wrap.keyId}); no stored byte changed (its headers keep the old wrap)`;
    }
    case 'ChecksumBackfilled':
      return `SHA-256 recorded by the checksum backfill: ${event.data.contentSha256}`;
    default:
      return event.type;
  }
}
