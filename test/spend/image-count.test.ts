import { describe, expect, it } from 'vitest';
import { ImageCounter } from '../../src/spend/image-count.js';

function countIn(chunks: Buffer[]): number {
  const counter = new ImageCounter();
  for (const chunk of chunks) counter.add(chunk);
  return counter.count;
}

const body = Buffer.from(
  JSON.stringify(
    {
      created: 1,
      data: [{ b64_json: 'AAAA', revised_prompt: 'a "b64_json": not a key' }, { url: 'https://x/y.png' }, { b64_json: 'BBBB' }],
      output_format: 'b64_json',
      usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
    },
    null,
    2,
  ),
);

describe('image counter', () => {
  it('counts the b64_json and url keys of data items, not the same words inside strings or as values', () => {
    expect(countIn([body])).toBe(3);
  });

  it('finds every key whatever the chunk boundaries, one split or byte by byte', () => {
    for (let cut = 0; cut <= body.length; cut++) {
      expect(countIn([body.subarray(0, cut), body.subarray(cut)]), `split at ${cut}`).toBe(3);
    }
    expect(countIn([...body].map((byte) => Buffer.from([byte])))).toBe(3);
  });

  it('counts a key whose colon arrives chunks later', () => {
    expect(countIn([Buffer.from('{"data":[{"b64_json"'), Buffer.from('  '), Buffer.from('\n'), Buffer.from(': "x"}]}')])).toBe(1);
  });
});
