// Reading an upstream's error answer, which is passed on to the client (keys masked) or replaced by an envelope.
import type { Readable } from 'node:stream';

/** The most of an upstream error body that is read; a longer one is cut there. */
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

/** True when `text` is a JSON object, as an error envelope is. */
export function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** An upstream error body, as text, up to {@link MAX_ERROR_BODY_BYTES}. */
export async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ERROR_BODY_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
