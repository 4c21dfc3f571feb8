import type { EncryptionKeyLayout } from '../../domain/encryption/envelope.js';
import type { EventData } from '../../domain/events/catalog.js';
import type { EventStore } from '../../domain/eventstore/port.js';
import { decideUpload, type UploadCommand } from '../../domain/uploads/upload-decider.js';
import { initialUploadState, type UploadState } from '../../domain/uploads/upload-state.js';
import type { UploadRow } from '../../projections/read/upload-reads.js';
import { handleCommand, type Handled, type OtherStreamAppend } from '../commands/handle-command.js';
import type { Cause, EventFactory } from '../event-factory.js';
import { loadUploadState, uploadStreamId } from './upload-stream.js';

/** A conflicting append means a part arrived; an abort decides again that many times at most. */
const maxCloseAttempts = 20;

/** The upload's record changed this many times during one move (parts from another instance): give up. */
const maxMoveAttempts = 5;

/**
 * What a part's decision needs of an open upload, from its row in the inline projection (which
 * holds only open uploads) and its encryption: how it was created. Its parts and revision are not needed — a part
 * is appended expecting any revision, the projection refusing it if the upload closed meanwhile.
 */
function openFromRow(row: UploadRow, encryption: EncryptionKeyLayout | null): UploadState {
  const { initiatedAt, ...created } = row;
  return { ...initialUploadState, status: 'open', created: { ...created, initiatedAt: initiatedAt.toISOString(), encryption } };
}

/**
 * Changes multipart uploads through the upload decider and the one command handler: the state
 * is folded from the upload's stream `upload-<id>` (short: one event per part), the decision is
 * appended expecting its revision, so a Complete, an Abort and a part racing on one upload are
 * decided in one order.
 */
export class UploadCommands {
  constructor(
    private readonly store: EventStore,
    private readonly events: EventFactory,
  ) {}

  private handle(
    uploadId: string, command: UploadCommand, cause: Cause,
    opts: { initial?: UploadState; expected?: 'any'; maxAttempts?: number; others?: readonly OtherStreamAppend[] } = {},
  ): Promise<Handled<UploadState, undefined>> {
    const { others, ...rest } = opts;
    return handleCommand(this.store, this.events, {
      streamId: uploadStreamId(uploadId),
      load: () => loadUploadState(this.store, uploadId),
      decide: (state) => ({ events: decideUpload(command, state), ...(others ? { others } : {}), value: undefined }),
      cause,
      ...rest,
    });
  }

  async create(created: EventData<'MultipartUploadCreated'>, cause: Cause): Promise<void> {
    await this.handle(created.uploadId, { type: 'Create', created }, cause, { initial: initialUploadState, maxAttempts: 1 });
  }

  /** `encryption`: how the upload was created (its first event), which the row does not hold. */
  async recordPart(upload: UploadRow, encryption: EncryptionKeyLayout | null, part: EventData<'PartUploaded'>, cause: Cause): Promise<void> {
    await this.handle(upload.uploadId, { type: 'RecordPart', part }, cause, { initial: openFromRow(upload, encryption), expected: 'any', maxAttempts: 1 });
  }

  /** Ends an open upload; the state it was decided on, or undefined when it was not open (any more). */
  async abort(uploadId: string, reason: EventData<'MultipartUploadAborted'>['reason'], cause: Cause, initial: UploadState): Promise<UploadState | undefined> {
    const handled = await this.handle(uploadId, { type: 'Abort', reason }, cause, { initial, maxAttempts: maxCloseAttempts });
    return handled.appended ? handled.state : undefined;
  }

  /**
   * Moves the open upload to the backend upload `moved` names, with `others` (the assembled
   * parts left behind, an orphan) in the same transaction. A part recorded meanwhile by another
   * instance makes it decide again on the new state, which refuses a move without that part; an
   * upload closed meanwhile refuses it (NoSuchUpload).
   */
  async move(moved: EventData<'MultipartUploadMoved'>, others: readonly OtherStreamAppend[], cause: Cause, initial: UploadState): Promise<void> {
    await this.handle(moved.uploadId, { type: 'Move', moved }, cause, { initial, others, maxAttempts: maxMoveAttempts });
  }

  /**
   * The upload's completion, to append with the new version in one transaction (as the other
   * stream of the object's command), expecting the revision `state` was folded at.
   */
  completion(state: UploadState, completion: EventData<'MultipartUploadCompleted'>, assembled: ReadonlyMap<number, string>): OtherStreamAppend {
    return { streamId: uploadStreamId(completion.uploadId), events: decideUpload({ type: 'Complete', completion, assembled }, state), expected: state.revision };
  }
}
