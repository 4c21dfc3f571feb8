import { defineInlineProjection } from '../inline-projection.js';

/**
 * Bytes per backend (used, orphaned, pending: in open uploads and reserved by moves in flight)
 * and the quota the append checks them against.
 */
export const usageProjection = defineInlineProjection({
  name: 'usage',
  home: new URL('./', import.meta.url),
  tables: ['backend_usage', 'usage_pending_parts', 'usage_move_reservations'],
  bulk: [
    'ObjectWritten@3', 'ObjectDeleted@1', 'ReplicaAdded@1', 'ReplicaDropped@1', 'CopyMoved@1', 'CopyRepaired@1',
    'OrphanRecorded@1', 'CleanupSucceeded@1', 'CleanupDismissed@1',
  ],
  group: ['ObjectWritten@3', 'CopyMoved@1', 'CleanupSucceeded@1', 'MoveStarted@1', 'MoveCompleted@1'],
  handles: [
    'StoredBytesRewritten@2',
    'ObjectWritten@3', 'ReplicaAdded@1', 'ReplicaDropped@1', 'CopyMoved@1', 'ObjectDeleted@1',
    'BackendRegistered@1', 'BackendLimitsChanged@1', 'OrphanRecorded@1', 'CleanupSucceeded@1',
    'CleanupDismissed@1', 'PartUploaded@3', 'MultipartUploadCompleted@1', 'MultipartUploadAborted@1', 'MultipartUploadMoved@1',
    'CopyRepaired@1', 'MoveStarted@1', 'MoveCompleted@1', 'MoveSkipped@1', 'MoveFailed@1', 'JobCompleted@1', 'JobCancelled@1',
    'JobFailed@1',
  ],
  ignores: [
    'RewriteFailed@1',
    'RewriteSkipped@1',
    'RewriteCompleted@1',
    'RewriteStarted@1',
    'DataKeyRewrapped@1',
    'BackendDrainStarted@1', 'BackendDrained@1', 'BackendDrainCancelled@1', 'BackendReactivated@1',
    'BackendRemoved@1', 'BackendPurged@1', 'CleanupFailed@1', 'CleanupExhausted@1', 'CleanupRetried@1',
    'UsageFlushed@1', 'MultipartUploadCreated@2', 'JobStarted@1', 'JobCheckpointed@1', 'AdminCommandIssued@1',
    'CopyVerified@1', 'CopyCorrupted@2', 'ChecksumBackfilled@1', 'ScrubPassCompleted@1',
  ],
});
