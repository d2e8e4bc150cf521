// Counting a client's text within bounds: in segments (BPE costs grow with the square of a word's length),
// up to a number of characters and a time budget per text and per second for the process, the rest at the
// rate of what was counted. Time is a clock the tests move: each segment "takes" 1 ms.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { BoundedCount, EXACT_CHARS, MAX_TOKENIZED_CHARS, SEGMENT_CHARS, TEXT_BUDGET_MS, TokenizeBudget } from '../../src/proxy/bounded-count.js';

const PLAIN = { disallowedSpecial: new Set<string>() };
const o200k = (text: string): number => countTokens(text, PLAIN);

/** A counter that records what it was handed; each call moves `clock` on by `stepMs`. */
function recording(clock = { now: 0 }, stepMs = 1): { count: (text: string) => number; seen: string[] } {
  const seen: string[] = [];
  return { seen, count: (text) => (seen.push(text), (clock.now += stepMs), o200k(text)) };
}

/** A budget on a clock that stands still unless a count moves it. */
const still = (msPerSecond = Infinity, clock = { now: 0 }): TokenizeBudget => new TokenizeBudget(msPerSecond, () => clock.now);

const PROSE = 'The quick brown fox jumps over the lazy dog, twice; then it naps.  Später: 你好，世界！ ';

describe('BoundedCount', () => {
  it('counts prose exactly as a whole, cutting segments only before a space', () => {
    const text = PROSE.repeat(40);
    const { count, seen } = recording();
    const counter = new BoundedCount(count, still());
    counter.add(text);
    expect(counter.total()).toBe(o200k(text));
    expect(seen.join('')).toBe(text);
    expect(Math.max(...seen.map((s) => s.length))).toBeLessThanOrEqual(SEGMENT_CHARS);
    expect(seen.slice(1).every((s) => /^\s/.test(s))).toBe(true);
  });

  it('counts one very long word in segments, without the quadratic cost of tokenizing it whole', () => {
    // 256 Ki of one letter: whole, this takes the tokenizer minutes; o200k_base makes 8 letters a token.
    const counter = new BoundedCount(o200k, still());
    counter.add('x'.repeat(256 * 1024));
    expect(counter.total()).toBe(32 * 1024);
  });

  it('never cuts between the two halves of a surrogate pair', () => {
    const { count, seen } = recording();
    new BoundedCount(count, still()).add('🎉'.repeat(1000));
    expect(seen.every((s) => !/[\ud800-\udbff]$/.test(s) && !/^[\udc00-\udfff]/.test(s))).toBe(true);
  });

  it('tokenizes at most MAX_TOKENIZED_CHARS, and counts the rest at the same rate', () => {
    const text = PROSE.repeat(Math.ceil((4 * MAX_TOKENIZED_CHARS) / PROSE.length));
    const { count, seen } = recording();
    const counter = new BoundedCount(count, still());
    counter.add(text);
    const tokenized = seen.join('').length;
    // Whole segments: the last one may go past the limit by less than one.
    expect(tokenized).toBeGreaterThanOrEqual(MAX_TOKENIZED_CHARS);
    expect(tokenized).toBeLessThan(MAX_TOKENIZED_CHARS + SEGMENT_CHARS);
    expect(Math.abs(counter.total() - o200k(text)) / o200k(text)).toBeLessThan(0.01);
  });

  it('stops tokenizing a text once its time budget is spent, its first EXACT_CHARS tokenized whatever the time', () => {
    const clock = { now: 0 };
    const stepMs = 0.25;
    const { count, seen } = recording(clock, stepMs);
    const counter = new BoundedCount(count, new TokenizeBudget(Infinity, () => clock.now));
    const text = PROSE.repeat(200);
    counter.add(text);
    counter.add(text);
    const exact = seen.findIndex((_, i) => seen.slice(0, i + 1).join('').length >= EXACT_CHARS) + 1;
    expect(seen).toHaveLength(Math.max(exact, TEXT_BUDGET_MS / stepMs));
    expect(seen.length).toBeGreaterThan(exact);

    // A text slower than its budget is still tokenized up to EXACT_CHARS.
    const slow = recording(clock, 10);
    new BoundedCount(slow.count, new TokenizeBudget(Infinity, () => clock.now)).add(text);
    expect(slow.seen).toHaveLength(exact);
    expect(Math.abs(counter.total() - 2 * o200k(text)) / (2 * o200k(text))).toBeLessThan(0.02);
  });

  it('shares a time budget per second across the process for what is past the first EXACT_CHARS of texts', () => {
    const clock = { now: 0 };
    const budget = new TokenizeBudget(1, () => clock.now);
    const text = PROSE.repeat(400);
    const exactOf = (seen: string[]): number => seen.findIndex((_, i) => seen.slice(0, i + 1).join('').length >= EXACT_CHARS) + 1;

    // 1/32 ms a segment: the first text goes on past its EXACT_CHARS until the process's 1 ms is spent.
    const step = 1 / 32;
    const first = recording(clock, step);
    new BoundedCount(first.count, budget).add(text);
    expect(exactOf(first.seen)).toBeLessThan(32);
    expect(first.seen).toHaveLength(32);

    // The budget is spent: the next text gets its EXACT_CHARS only, the rest counted at their rate.
    const second = recording(clock, step);
    const counter = new BoundedCount(second.count, budget);
    counter.add(text);
    expect(second.seen).toHaveLength(exactOf(second.seen));
    expect(Math.abs(counter.total() - o200k(text)) / o200k(text)).toBeLessThan(0.02);

    // A second later, the budget is there again.
    clock.now += 1_000;
    const third = recording(clock, step);
    new BoundedCount(third.count, budget).add(text);
    expect(third.seen).toHaveLength(first.seen.length);
  });

  it('counts nothing as 0', () => {
    expect(new BoundedCount(o200k, still()).total()).toBe(0);
  });
});
