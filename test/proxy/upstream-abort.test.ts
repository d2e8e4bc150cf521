// UpstreamAbort, what cancels every upstream request: an emitter of one event that fires at most once.
import { describe, expect, it } from 'vitest';
import { UpstreamAbort } from '../../src/proxy/upstream-request.js';

describe('UpstreamAbort', () => {
  it('calls each listener once, and none that was removed', () => {
    const signal = new UpstreamAbort();
    const calls: string[] = [];
    const removed = (): void => {
      calls.push('removed');
    };
    signal.on('abort', () => calls.push('on'));
    signal.once('abort', () => calls.push('once'));
    signal.on('abort', removed);
    signal.removeListener('abort', removed);
    signal.abort();
    signal.abort();
    expect(calls).toEqual(['on', 'once']);
    expect(signal.aborted).toBe(true);
  });
});
