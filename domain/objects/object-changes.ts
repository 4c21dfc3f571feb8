import type { StreamAppend } from '../eventstore/port.js';

/** A committed change to an object's stream, as caches of object state see it. */
export interface ObjectChange {
  bucket: string;
  key: string;
  /**
   * True when the key's current version changed (a new version written, or the key deleted);
   * false when only its copies or their checks did (a replica, a move, a repair, a verification).
   */
  versionChanged: boolean;
  /** The write id of the version the key holds after the change, when it was written by it (not for a delete). */
  writeId?: string;
}

const streamPrefix = 'object-';
const versionEvents = new Set(['ObjectWritten', 'ObjectDeleted']);

/**
 * The objects changed by committed appends, one entry per key (version changes win), read from
 * the object streams' ids (`object-<bucket>/<key>`: a bucket name has no '/'), so an event type
 * added later on an object stream is a change too.
 */
export function objectChanges(appends: readonly StreamAppend[]): ObjectChange[] {
  const byId = new Map<string, ObjectChange>();
  for (const a of appends) {
    if (!a.streamId.startsWith(streamPrefix) || a.events.length === 0) continue;
    const name = a.streamId.slice(streamPrefix.length);
    const slash = name.indexOf('/');
    if (slash <= 0) continue;
    const last = a.events.findLast((e) => versionEvents.has(e.type));
    const seen = byId.get(a.streamId) ?? { bucket: name.slice(0, slash), key: name.slice(slash + 1), versionChanged: false };
    if (last) {
      seen.versionChanged = true;
      const writeId = last.type === 'ObjectWritten' ? (last.data as { writeId?: unknown }).writeId : undefined;
      if (typeof writeId === 'string') seen.writeId = writeId;
      else delete seen.writeId;
    }
    byId.set(a.streamId, seen);
  }
  return [...byId.values()];
}
