import { defineInlineProjection } from '../inline-projection.js';

/** The current version of each object and where its copies are: what GET, HEAD and LIST read. */
export const locationsProjection = defineInlineProjection({
  name: 'locations',
  home: new URL('./', import.meta.url),
  tables: ['objects', 'object_copies'],
  bulk: ['ObjectWritten@3', 'ObjectDeleted@1'],
  group: ['ObjectWritten@3', 'CopyMoved@1'],
  handles: [
    'DataKeyRewrapped@1',
    'StoredBytesRewritten@2',
    'ObjectWritten@3', 'ReplicaAdded@1', 'ReplicaDropped@1', 'CopyMoved@1', 'ObjectDeleted@1',
    'CopyVerified@1', 'CopyCorrupted@2', 'CopyRepaired@1', 'ChecksumBackfilled@1',
  ],
  ignores: [
    'RewriteFailed@1',
    'RewriteSkipped@1',
    'RewriteCompleted@1',
    'RewriteStarted@1',
    'BackendRegistered@1', 'BackendLimitsChanged@1', 'BackendDrainStarted@1', 'BackendDrained@1',
    'BackendDrainCancelled@1', 'BackendReactivated@1', 'BackendRemoved@1', 'BackendPurged@1',
    'OrphanRecorded@1', 'CleanupFailed@1', 'CleanupSucceeded@1', 'CleanupExhausted@1',
    'CleanupRetried@1', 'CleanupDismissed@1', 'UsageFlushed@1', 'MultipartUploadCreated@2',
    'PartUploaded@3', 'MultipartUploadCompleted@1', 'MultipartUploadAborted@1', 'MultipartUploadMoved@1', 'JobStarted@1',
    'MoveStarted@1', 'MoveCompleted@1', 'MoveSkipped@1', 'MoveFailed@1', 'JobCompleted@1',
    'JobCancelled@1', 'JobFailed@1', 'JobCheckpointed@1', 'AdminCommandIssued@1',
    'ScrubPassCompleted@1',
  ],
});
