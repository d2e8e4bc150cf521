import { Transform, type TransformCallback } from 'node:stream';
import { usageFromJsonBody, type Usage } from './usage.js';

/** Usage sits at the end of OpenAI-style bodies; this much of the tail is kept to find it. */
const TAIL_BYTES = 64 * 1024;

/**
 * Passes a JSON response body through unchanged, chunk by chunk, keeping only its tail so that the
 * `usage` object can be read once the body has ended, without holding (or parsing) large bodies such as
 * base64 images.
 */
export class JsonUsageTap extends Transform {
  private readonly tail: Buffer[] = [];
  private tailBytes = 0;

  constructor(private readonly onUsage: (usage: Usage) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= TAIL_BYTES) {
      this.tailBytes -= this.tail.shift()!.length;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const body = this.tail.length === 1 ? this.tail[0]! : Buffer.concat(this.tail, this.tailBytes);
    const usage = usageFromJsonBody(body);
    if (usage !== undefined) this.onUsage(usage);
    callback();
  }
}
