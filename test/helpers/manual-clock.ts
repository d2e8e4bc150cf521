// A clock that moves only when a test says so, with the timers scheduled on it.
import type { Clock } from '../../src/server/connections.js';

export interface ManualClock extends Clock {
  /** Moves time on by `ms`, running every timer that falls due on the way, in order. */
  advance(ms: number): void;
  /** Timers scheduled and not yet run or cancelled. */
  readonly pending: number;
}

export function manualClock(start = 1_700_000_000_000): ManualClock {
  let now = start;
  const timers = new Set<{ at: number; callback: () => void }>();
  return {
    now: () => now,
    schedule(callback, delayMs) {
      const timer = { at: now + delayMs, callback };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        timers.delete(due);
        now = due.at;
        due.callback();
      }
      now = until;
    },
    get pending() {
      return timers.size;
    },
  };
}
