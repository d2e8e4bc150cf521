import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const QUEUED = Symbol('gateway.queuedResponses');
type ConnectionWithQueue = Socket & { [QUEUED]?: Set<() => void> };

/**
 * Calls `onClose` if `connection` closes before `response` has closed, for a response queued behind an
 * earlier one on a connection that pipelines its requests: Node 20 and 22 emit no 'close' on such a
 * response when its connection closes (Node 24 does). One 'close' listener per connection serves all of
 * its queued responses, however many a client pipelines.
 */
export function onQueuedResponseLost(connection: Socket, response: ServerResponse, onClose: () => void): void {
  const owner = connection as ConnectionWithQueue;
  let queued = owner[QUEUED];
  if (queued === undefined) {
    const listeners = new Set<() => void>();
    queued = owner[QUEUED] = listeners;
    connection.once('close', () => {
      for (const listener of listeners) listener();
      listeners.clear();
    });
  }
  const listeners = queued;
  listeners.add(onClose);
  response.once('close', () => listeners.delete(onClose));
}
