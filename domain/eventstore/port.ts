/**
 * The EventStore port. Stream revisions are 0-based (the first event of a stream is revision 0),
 * so the mapping to EventStoreDB/KurrentDB is one to one. Positions are opaque, totally ordered
 * strings; compare them with `comparePositions`.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface EventMetadata {
  /** S3 request id or job id the change belongs to. */
  correlationId?: string;
  causationId?: string;
  /** Access key id, `admin`, `system:<worker>` or `operator:<name>`. Never a secret. */
  actor?: string;
  instanceId?: string;
  /** ISO-8601 time the event was decided. */
  at?: string;
}

export interface NewEvent {
  /** Caller-chosen id (uuid); appending the same ids again is a no-op. */
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
}

export interface RecordedEvent {
  id: string;
  streamId: string;
  revision: bigint;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  position: Position;
  recordedAt: string;
}

export type Position = string & { readonly __brand: 'Position' };

export interface AppendResult {
  streamId: string;
  nextRevision: bigint;
  position: Position;
  /** True when every event id was already stored: the append was a retry and changed nothing. */
  alreadyAppended: boolean;
}

export interface StreamAppend {
  streamId: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
}

export interface ReadStreamOptions {
  /** Forwards the lowest revision to read (default 0), backwards the highest (default the last). */
  fromRevision?: bigint;
  /** At most this many events; without it, every event from `fromRevision` on, however many. */
  maxCount?: number;
  /** Backwards returns the events newest first. */
  direction?: 'forwards' | 'backwards';
}

export interface ReadStreamResult {
  /** The stream's revision when it was read (the last event's revision once a forward read reaches the end). */
  revision: bigint | 'no_stream';
  events: RecordedEvent[];
}

export interface ReadAllFilter {
  types?: readonly string[];
  streamPrefixes?: readonly string[];
}

export interface ReadAllResult {
  events: RecordedEvent[];
  /** Position to continue after; unchanged when nothing new was readable. */
  last: Position | undefined;
  /** True when the read reached the gap-safe horizon. */
  caughtUp: boolean;
}

export interface EventStore {
  appendToStream(streamId: string, events: readonly NewEvent[], opts: { expected: ExpectedRevision }): Promise<AppendResult>;
  /** Appends to several streams atomically: all or nothing. */
  appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  readStream(streamId: string, opts?: ReadStreamOptions): Promise<ReadStreamResult>;
  readAll(opts: { after?: Position; limit: number; filter?: ReadAllFilter }): Promise<ReadAllResult>;
  headPosition(): Promise<Position | undefined>;
}

export const START_POSITION = '' as Position;

export function comparePositions(a: Position, b: Position): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
