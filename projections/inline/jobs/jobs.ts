import { defineInlineProjection } from '../inline-projection.js';

/** Progress of long-running jobs (drain, remove, rebalance, …), one row per job stream. */
export const jobsProjection = defineInlineProjection({
  name: 'jobs',
  home: new URL('./', import.meta.url),
  tables: ['jobs'],
  group: ['MoveStarted@1', 'MoveCompleted@1'],
  handles: [
    'RewriteFailed@1',
    'RewriteSkipped@1',
    'RewriteCompleted@1',
    'RewriteStarted@1',
    'JobStarted@1', 'MoveStarted@1', 'MoveCompleted@1', 'MoveSkipped@1', 'MoveFailed@1',
    'JobCompleted@1', 'JobCancelled@1', 'JobFailed@1',
  ],
  ignores: [
    'DataKeyRewrapped@1',
    'StoredBytesRewritten@2',
    'JobCheckpointed@1',
    'ObjectWritten@3', 'ReplicaAdded@1', 'ReplicaDropped@1', 'CopyMoved@1', 'ObjectDeleted@1',
    'BackendRegistered@1', 'BackendLimitsChanged@1', 'BackendDrainStarted@1', 'BackendDrained@1',
    'BackendDrainCancelled@1', 'BackendReactivated@1', 'BackendRemoved@1', 'BackendPurged@1',
    'OrphanRecorded@1', 'CleanupFailed@1', 'CleanupSucceeded@1', 'CleanupExhausted@1',
    'CleanupRetried@1', 'CleanupDismissed@1', 'UsageFlushed@1', 'MultipartUploadCreated@2',
    'PartUploaded@3', 'MultipartUploadCompleted@1', 'MultipartUploadAborted@1', 'MultipartUploadMoved@1', 'AdminCommandIssued@1',
    'CopyVerified@1', 'CopyCorrupted@2', 'CopyRepaired@1', 'ChecksumBackfilled@1', 'ScrubPassCompleted@1',
  ],
});
