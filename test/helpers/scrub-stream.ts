// Drives a scrubber's stream stage piece by piece, reading what it releases after each piece.
import { once } from 'node:events';
import type { SecretScrubber } from '../../src/proxy/scrub.js';

/**
 * What the stage releases for `pieces`, written one by one; `afterPiece` is told, after each, how many bytes
 * went in and how many came out so far (the stage works synchronously, so nothing is in flight).
 */
export async function throughStream(scrubber: SecretScrubber, pieces: readonly Buffer[], afterPiece?: (written: number, released: number) => void): Promise<Buffer> {
  const stream = scrubber.stream();
  const out: Buffer[] = [];
  let written = 0;
  let released = 0;
  const take = (): void => {
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
      out.push(chunk);
      released += chunk.length;
    }
  };
  for (const piece of pieces) {
    stream.write(piece);
    written += piece.length;
    take();
    afterPiece?.(written, released);
  }
  const ended = once(stream, 'end');
  stream.on('readable', take);
  stream.end();
  await ended;
  return Buffer.concat(out);
}
