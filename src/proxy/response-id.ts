import type { Readable } from 'node:stream';

/** A response's id is its first `"id"` (the answer's own, or `response.created`'s in a stream), near the start. */
const FIRST_ID = /"id"\s*:\s*"([^"\\]{1,256})"/;
const HEAD_BYTES = 4096;

/**
 * Reads the id of the response an upstream body carries from the body's head, as a second 'data' listener
 * that removes itself once it has found the id or seen the first {@link HEAD_BYTES}: the body itself passes
 * on untouched.
 */
export function watchResponseId(body: Readable, onId: (id: string) => void): void {
  let head = '';
  const onData = (chunk: Buffer): void => {
    head += chunk.toString('latin1', 0, Math.min(chunk.length, HEAD_BYTES - head.length));
    const match = FIRST_ID.exec(head);
    if (match !== null || head.length >= HEAD_BYTES) {
      body.off('data', onData);
      if (match !== null) onId(match[1]!);
    }
  };
  body.on('data', onData);
}
