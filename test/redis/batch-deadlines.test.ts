// The deadlines of the Redis batches in flight: each batch is given up on at its own deadline, never
// before, and one timer watches them all.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchDeadlines, type InFlightBatch } from '../../src/redis/batch-deadlines.js';

const TIMEOUT_MS = 100;

describe('batch deadlines', () => {
  let clock = 0;
  let due: string[][];
  let deadlines: BatchDeadlines<string>;

  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
    due = [];
    deadlines = new BatchDeadlines<string>(TIMEOUT_MS, (batch) => due.push([...batch.items]), () => clock);
  });
  afterEach(() => vi.useRealTimers());

  const advance = (ms: number): void => {
    clock += ms;
    vi.advanceTimersByTime(ms);
  };

  it('gives up on each unanswered batch at its own deadline, with one timer for all of them', () => {
    deadlines.add(['a1', 'a2']);
    advance(40);
    const b = deadlines.add(['b1']);
    advance(20);
    deadlines.add(['c1']);
    expect(vi.getTimerCount()).toBe(1);

    advance(39);
    expect(due).toEqual([]);
    advance(1);
    expect(due).toEqual([['a1', 'a2']]);
    deadlines.answered(b);
    advance(40);
    expect(due).toEqual([['a1', 'a2']]); // b was answered in time
    advance(20);
    expect(due).toEqual([['a1', 'a2'], ['c1']]);
    expect(deadlines.inFlight).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops answered batches at once, and gives up on a partly answered one', () => {
    const batches: InFlightBatch<string>[] = [];
    for (let i = 0; i < 50; i++) batches.push(deadlines.add([`x${i}`]));
    const partly = deadlines.add(['p1', 'p2']);
    for (const batch of batches) deadlines.answered(batch);
    deadlines.answered(partly);
    expect(deadlines.inFlight).toBe(1);
    advance(TIMEOUT_MS);
    expect(due).toEqual([['p1', 'p2']]);
  });

  it('sets no timer again once every batch was answered', () => {
    deadlines.answered(deadlines.add(['a']));
    advance(TIMEOUT_MS);
    expect(vi.getTimerCount()).toBe(0);
    deadlines.add(['b']);
    expect(vi.getTimerCount()).toBe(1);
  });
});
