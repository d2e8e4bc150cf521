import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Holds what `source` releases in one turn of the event loop (the events of one read of the upstream's
 * socket) and writes it to `response` as one write, together with the end of the response when that
 * comes in the same turn (a short stream read whole): one system call where there would be two or more.
 * Registered before the source is piped, so the response is corked before the pipe writes to it.
 */
export function writeTogether(source: Readable, response: ServerResponse): void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    response.uncork();
  };
  source.on('data', () => {
    if (corked) return;
    corked = true;
    response.cork();
    setImmediate(uncork);
  });
}
