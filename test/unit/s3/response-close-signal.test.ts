import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ResponseCloseSignal } from '../../../gateway/s3/response-close-signal.js';

/** The two things the signal looks at: 'close' and whether the response was complete by then. */
class FakeResponse extends EventEmitter {
  writableFinished = false;
}

function signalOf(response: FakeResponse): ResponseCloseSignal {
  return new ResponseCloseSignal(response as unknown as ServerResponse);
}

describe('a request\'s read signal (the response closing early)', () => {
  it('aborts with an AbortError, calling each listener once, when the response closes before it is complete', () => {
    const response = new FakeResponse();
    const signal = signalOf(response);
    const calls: string[] = [];
    const first = (): void => void calls.push('first');
    signal.addEventListener('abort', first, { once: true });
    signal.addEventListener('abort', first);
    signal.addEventListener('abort', () => calls.push('second'));
    expect(signal.aborted).toBe(false);
    expect(signal.reason).toBeUndefined();

    response.emit('close');

    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(Error);
    expect(signal.reason).toMatchObject({ name: 'AbortError' });
    expect(calls).toEqual(['first', 'second']);
    signal.addEventListener('abort', first);
    response.emit('close');
    expect(calls).toEqual(['first', 'second']);
  });

  it('stays quiet when the response completed, and for a listener removed before the close', () => {
    const finished = new FakeResponse();
    const quiet = signalOf(finished);
    let called = 0;
    quiet.addEventListener('abort', () => called++);
    finished.writableFinished = true;
    finished.emit('close');
    expect(quiet.aborted).toBe(false);

    const early = new FakeResponse();
    const signal = signalOf(early);
    const listener = (): void => void called++;
    signal.addEventListener('abort', listener);
    signal.removeEventListener('abort', listener);
    early.emit('close');
    expect(signal.aborted).toBe(true);
    expect(called).toBe(0);
  });
});
