import { describe, expect, it } from 'vitest';
import type { StreamAppend } from '../../../domain/eventstore/port.js';
import { objectChanges } from '../../../domain/objects/object-changes.js';

const append = (streamId: string, ...types: string[]): StreamAppend => ({
  streamId,
  expected: 'any',
  events: types.map((type, i) => ({ id: `${streamId}-${i}`, type, schemaVersion: 1, data: { writeId: `w-${type}-${i}` }, metadata: {} })),
});

describe('objectChanges', () => {
  it('names each object stream appended to once, with whether its version changed', () => {
    expect(objectChanges([
      append('object-alpha/a/b.txt', 'ReplicaAdded'),
      append('object-alpha/a/b.txt', 'ObjectWritten'),
      append('object-beta/k', 'CopyVerified'),
      append('object-beta/gone', 'ObjectDeleted'),
    ])).toEqual([
      { bucket: 'alpha', key: 'a/b.txt', versionChanged: true, writeId: 'w-ObjectWritten-0' },
      { bucket: 'beta', key: 'k', versionChanged: false },
      { bucket: 'beta', key: 'gone', versionChanged: true },
    ]);
  });

  it('names the version the key holds after the appends: the last one written, none after a delete', () => {
    expect(objectChanges([append('object-a/k', 'ObjectWritten', 'ReplicaAdded', 'ObjectWritten')])).toEqual([
      { bucket: 'a', key: 'k', versionChanged: true, writeId: 'w-ObjectWritten-2' },
    ]);
    expect(objectChanges([append('object-a/k', 'ObjectWritten'), append('object-a/k', 'ObjectDeleted')])).toEqual([
      { bucket: 'a', key: 'k', versionChanged: true },
    ]);
  });

  it('ignores other streams and empty appends', () => {
    expect(objectChanges([append('job-1', 'MoveCompleted'), append('backend-b1', 'BackendDrained'), append('object-alpha/k'), append('object-nokey', 'ObjectWritten')])).toEqual([]);
  });
});
