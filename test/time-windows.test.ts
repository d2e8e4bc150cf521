// The windows limits, budgets and the ledger count in. The month is remembered per UTC day: asked in any
// order, across a month's edge and back, it is the calendar's.
import { describe, expect, it } from 'vitest';
import { dayWindow, monthWindow } from '../src/time-windows.js';

describe('time windows', () => {
  it('numbers months from January 1970, at every moment of a day and across a month’s edge in both directions', () => {
    const lastMsOfJanuary = Date.UTC(2027, 1, 1) - 1;
    const january = (2027 - 1970) * 12;
    expect(monthWindow(Date.UTC(2027, 0, 31, 0, 0, 0))).toBe(january);
    expect(monthWindow(lastMsOfJanuary)).toBe(january);
    expect(monthWindow(lastMsOfJanuary + 1)).toBe(january + 1);
    expect(monthWindow(lastMsOfJanuary)).toBe(january);
    expect(monthWindow(Date.UTC(2027, 11, 31, 12))).toBe(january + 11);
    expect(monthWindow(Date.UTC(1970, 0, 1))).toBe(0);
    expect(dayWindow(lastMsOfJanuary + 1)).toBe(dayWindow(lastMsOfJanuary) + 1);
  });
});
