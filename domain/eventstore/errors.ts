import type { ExpectedRevision } from './port.js';

export class ConcurrencyError extends Error {
  readonly streamId: string;
  readonly expected: ExpectedRevision;
  readonly actual: bigint | 'no_stream';

  constructor(streamId: string, expected: ExpectedRevision, actual: bigint | 'no_stream') {
    super(`wrong expected revision for stream ${streamId}: expected ${String(expected)}, actual ${String(actual)}`);
    this.name = 'ConcurrencyError';
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The store could not be reached or failed for a reason that is not the caller's. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Some, but not all, of an append's event ids were stored before: not a safe retry. */
export class IdempotencyConflictError extends Error {
  constructor(streamId: string) {
    super(`append to ${streamId} repeats some event ids of an earlier append but not all`);
    this.name = 'IdempotencyConflictError';
  }
}

/** An inline projection refused the append because it would break an invariant (e.g. a quota). */
export class InvariantViolationError extends Error {
  readonly invariant: string;
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(invariant: string, detail: Record<string, unknown>) {
    super(`invariant ${invariant} violated: ${JSON.stringify(detail)}`);
    this.name = 'InvariantViolationError';
    this.invariant = invariant;
    this.detail = detail;
  }
}

/**
 * The append carried an event version the database's projections cannot bring to a version they
 * handle (newer than its catalogue, or older than its upcasters reach): an instance runs a build
 * whose event catalogue differs from the one the schema was generated from.
 */
export class UnknownEventVersionError extends Error {
  readonly type: string;
  readonly version: number;

  constructor(type: string, version: number, message: string) {
    super(message);
    this.name = 'UnknownEventVersionError';
    this.type = type;
    this.version = version;
  }
}
