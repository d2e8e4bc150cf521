import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { chatRequestSchema } from '../../src/schemas/chat.js';
import { listOf } from '../../src/schemas/lists.js';

describe('listOf', () => {
  it('reports the first bad item only, however many follow', () => {
    const result = chatRequestSchema.safeParse({ model: 'gpt-4o-mini', messages: Array.from({ length: 9_000 }, () => 1) });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toHaveLength(1);
    expect(result.error!.issues[0]!.path).toEqual(['messages', 0]);
  });

  it('refuses a list over its maximum without checking any item', () => {
    let checked = 0;
    const item = z.string().refine(() => ++checked > 0);
    const result = listOf(item, 4).safeParse(['a', 'b', 'c', 'd', 'e']);
    expect(result.error!.issues).toMatchObject([{ code: 'too_big', origin: 'array', maximum: 4 }]);
    expect(checked).toBe(0);
    expect(listOf(item, 4).safeParse(['a', 'b', 'c', 'd']).success).toBe(true);
  });

  it('names the bad item by its index, and enforces a minimum', () => {
    const list = listOf(z.number(), 10, { length: 1, message: 'must not be empty' });
    expect(list.safeParse([1, 2, 'x', 'y']).error!.issues).toMatchObject([{ code: 'invalid_type', path: [2] }]);
    expect(list.safeParse([]).error!.issues).toMatchObject([{ message: 'must not be empty' }]);
    expect(list.safeParse('not a list').error!.issues).toMatchObject([{ code: 'invalid_type', expected: 'array' }]);
  });
});
