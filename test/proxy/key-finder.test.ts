// The search of raw bytes gives the answer the search of their latin1 text gives: at every alignment of the
// bytes in memory, for keys in every form, runs, fragments, escapes and near misses.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasEscape } from '../../src/proxy/decoded-view.js';
import { KeyFinder } from '../../src/proxy/key-finder.js';
import { SecretScrubber } from '../../src/proxy/scrub.js';

const KEYS = ['sk-proj-Zq9xW/8vTz0K1mNp4QrS7uVb2YcD5eFg', 'sk-bench-upstream-a-0123456789'];
const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Pieces a text is built of: key forms whole and cut, escaped, and filler an SSE stream is made of. */
const PIECES = [
  ...KEYS,
  ...KEYS.map((key) => key.slice(0, 9)),
  ...KEYS.map((key) => key.slice(-11)),
  ...KEYS.map((key) => key.slice(3, 20)),
  ...KEYS.map((key) => b64(`Bearer ${key}`)),
  ...KEYS.map((key) => `\\u0073${key.slice(1)}`),
  KEYS[0]!.replace('/', '\\/'),
  encodeURIComponent(KEYS[0]!),
  ...KEYS.map((key) => key.slice(3, -3)),
  ...KEYS.map((key) => key.toUpperCase().slice(0, 20)),
  ...KEYS.map((key) => Buffer.from(key).toString('hex')),
  Buffer.from(KEYS[1]!).toString('hex').toUpperCase().slice(6),
  [...KEYS[0]!.slice(2, 20)].map((c) => `&#${c.charCodeAt(0)};`).join(''),
  [...KEYS[1]!.slice(4)].map((c) => `&#x${c.charCodeAt(0).toString(16)};`).join(''),
  encodeURIComponent(encodeURIComponent(KEYS[0]!)),
  [...KEYS[1]!].map((c) => `%25${c.charCodeAt(0).toString(16)}`).join(''),
  '&#', '&#x4', ';', '%25',
  'data: {"choices":[{"delta":{"content":"Hi"}}],"usage":null}\n\n',
  '%2', '%zz', '\\', 'u', '\\n', ' ', 'é', 'sk-', 'x',
];

/** `text` as latin1 bytes starting at byte `shift` of a fresh buffer, so its views start at every alignment. */
function bytesAt(text: string, shift: number): Buffer {
  const buffer = Buffer.alloc(text.length + shift + 3);
  buffer.write(text, shift, 'latin1');
  return buffer.subarray(shift, shift + text.length);
}

const texts = fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 6 })), { maxLength: 12 }).map((parts) => parts.join(''));

describe('KeyFinder', () => {
  const finder = new KeyFinder(KEYS);
  const scrubber = new SecretScrubber(KEYS);

  it('finds in the bytes what it finds in their latin1 text, at every alignment, with where an open match starts', () => {
    fc.assert(
      fc.property(texts, fc.integer({ min: 0, max: 7 }), (text, shift) => {
        const latin1 = Buffer.from(text, 'latin1').toString('latin1');
        const bytes = bytesAt(latin1, shift);
        // An anchor may be seen from two blocks, so the same open start may be told twice.
        const opens = [new Set<number>(), new Set<number>()];
        expect(finder.findInBytes(bytes, (start) => opens[0]!.add(start))).toEqual(finder.find(latin1, (start) => opens[1]!.add(start)));
        expect(opens[0]).toEqual(opens[1]);
      }),
      { numRuns: 2000 },
    );
  });

  it('searches the bytes as they are when they hold no escape, and their decoded view when they do', () => {
    fc.assert(
      fc.property(texts, fc.integer({ min: 0, max: 3 }), (text, shift) => {
        const latin1 = Buffer.from(text, 'latin1').toString('latin1');
        const bytes = bytesAt(latin1, shift);
        const [fromBytes, fromText] = [{ at: bytes.length }, { at: bytes.length }];
        expect(scrubber.spansInBytes(bytes, fromBytes)).toEqual(scrubber.spansIn(latin1, fromText));
        expect(fromBytes.at).toBe(fromText.at);
      }),
      { numRuns: 2000 },
    );
  });

  it('masks a key in an escaped form in a batch of events that is otherwise plain', () => {
    const plain = 'data: {"choices":[{"delta":{"content":"Hi"}}],"usage":null}\n\n'.repeat(20);
    const escaped = `data: {"choices":[{"delta":{"content":"\\u0073${KEYS[0]!.slice(1, 12)}"}}]}\n\n`;
    const events = Buffer.from(plain + escaped + plain);
    const masked = scrubber.maskComplete(events).toString('latin1');
    expect(masked).toBe(plain + escaped.replace(`\\u0073${KEYS[0]!.slice(1, 12)}`, '*'.repeat(17)) + plain);
  });

  it('tells escapes from what only looks like one', () => {
    for (const text of ['\\u', 'a\\/b', '%2F', 'x%aFy']) expect(hasEscape(Buffer.from(text)), text).toBe(true);
    for (const text of ['', '\\n\\"', '%2', '%G0', '%%', 'u/', '100%']) expect(hasEscape(Buffer.from(text)), text).toBe(false);
  });
});
