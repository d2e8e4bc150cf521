import { ImageCounter, withImages } from '../spend/image-count.js';
import { usageFromJsonBody, type Usage } from './usage.js';

/** Usage sits at the end of OpenAI-style bodies; this much of the tail is kept to find it. */
const TAIL_BYTES = 64 * 1024;

/**
 * Watches a JSON response body go by, chunk by chunk, keeping only its tail so that the `usage` object can
 * be read once the body has ended, without holding (or parsing) large bodies such as base64 images. It sees
 * the chunks as a second 'data' listener of the body that is piped to the client: no stream stage of its own.
 */
export class JsonUsageTail {
  private readonly tail: Buffer[] = [];
  private tailBytes = 0;
  /** Only an images answer's `url` and `b64_json` keys are images: a chat answer's `url` is a citation. */
  private readonly images: ImageCounter | undefined;

  constructor(countImages: boolean) {
    this.images = countImages ? new ImageCounter() : undefined;
  }

  /** Takes the next chunk of the body (bound: a 'data' listener as it is). */
  readonly add = (chunk: Buffer): void => {
    this.images?.add(chunk);
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= TAIL_BYTES) {
      this.tailBytes -= this.tail.shift()!.length;
    }
  };

  /** The usage of a body that has ended, when it has one. */
  usage(): Usage | undefined {
    if (this.tail.length === 0) return undefined;
    const body = this.tail.length === 1 ? this.tail[0]! : Buffer.concat(this.tail, this.tailBytes);
    // Images are charged per image returned, also from an answer that reports no token usage.
    const usage = usageFromJsonBody(body);
    return this.images === undefined ? usage : withImages(usage, this.images.count);
  }
}
