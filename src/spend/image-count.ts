import type { Usage } from '../proxy/usage.js';

/** The keys of an images answer's `data` items that carry one image each. */
const IMAGE_KEYS = [Buffer.from('"b64_json"'), Buffer.from('"url"')];
const LONGEST = Math.max(...IMAGE_KEYS.map((k) => k.length));
const COLON = 0x3a;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Counts the images of a JSON images answer as its body goes by, chunk by chunk, without holding it: each
 * `"b64_json"` or `"url"` key is one image. A literal `"b64_json"` followed by `:` can only be a key (inside
 * a JSON string its quotes would be escaped). Keys split across chunks are found through the last bytes of
 * the previous chunk, which are all that is kept.
 */
export class ImageCounter {
  count = 0;
  /** The stream's last LONGEST - 1 bytes before the current chunk. */
  private carry: Buffer = Buffer.alloc(0);
  /** A key ended at the end of a chunk: the `:` that makes it a key is still to come. */
  private awaitingColon = false;

  add(chunk: Buffer): void {
    let from = 0;
    if (this.awaitingColon) {
      this.awaitingColon = false;
      from = this.afterKey(chunk, 0);
      if (this.awaitingColon) return this.keepCarry(chunk);
    }
    if (this.carry.length > 0) this.findAcrossBoundary(chunk, from);
    for (const key of IMAGE_KEYS) {
      for (let at = chunk.indexOf(key, from); at >= 0; at = chunk.indexOf(key, at + key.length)) this.afterKey(chunk, at + key.length);
    }
    this.keepCarry(chunk);
  }

  /** Keys that begin in the carried bytes and end in this chunk. */
  private findAcrossBoundary(chunk: Buffer, from: number): void {
    const joint = Buffer.concat([this.carry, chunk.subarray(0, LONGEST - 1)]);
    for (const key of IMAGE_KEYS) {
      const first = Math.max(0, this.carry.length - key.length + 1);
      for (let at = joint.indexOf(key, first); at >= 0 && at < this.carry.length; at = joint.indexOf(key, at + 1)) {
        const end = at + key.length - this.carry.length;
        if (end > from) this.afterKey(chunk, end);
      }
    }
  }

  /** Looks for the `:` after a key that ended at `at`; returns where the search stopped. */
  private afterKey(chunk: Buffer, at: number): number {
    let i = at;
    while (i < chunk.length && isSpace(chunk[i]!)) i++;
    if (i === chunk.length) this.awaitingColon = true;
    else if (chunk[i] === COLON) this.count++;
    return i;
  }

  private keepCarry(chunk: Buffer): void {
    const keep = LONGEST - 1;
    const tail = chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([this.carry, chunk]).subarray(-keep);
    // A copy: the chunk itself (perhaps megabytes of an image) is not kept alive by the carry.
    this.carry = Buffer.from(tail);
  }
}

/**
 * Images an answer returned, by the usage read from the same answer: a side table, so that the usage keeps
 * the one shape that is logged and counted everywhere.
 */
const imagesByUsage = new WeakMap<Usage, number>();

/** The usage of an answer that returned `images` images (a zero usage when it reported none). */
export function withImages(usage: Usage | undefined, images: number): Usage | undefined {
  if (images === 0) return usage;
  const counted = usage ?? { prompt: 0, completion: 0, cached: 0, reasoning: 0, total: 0 };
  imagesByUsage.set(counted, images);
  return counted;
}

/** How many images the answer that reported `usage` returned. */
export const imagesIn = (usage: Usage): number => imagesByUsage.get(usage) ?? 0;
