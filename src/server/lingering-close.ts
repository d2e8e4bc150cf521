import type { Socket } from 'node:net';

/** How long, and how much more of a refused body, the gateway reads before it closes the connection. */
export interface LingerLimits {
  timeMs: number;
  bytes: number;
}

/**
 * Within what nginx's lingering close allows (5 s for each read, 30 s in all): long enough for a client
 * still sending a large body to finish or to read the answer, short enough that a refused upload holds
 * its connection briefly.
 */
export const LINGER_LIMITS: Readonly<LingerLimits> = Object.freeze({ timeMs: 10_000, bytes: 64 * 1024 * 1024 });

/** How often the bytes read while lingering are counted (the HTTP parser reads the socket itself, unseen). */
const BYTES_CHECK_MS = 100;

const lingering = new WeakSet<Socket>();

/**
 * Closes the connection of a response sent before its request body was read (a 413) without losing the
 * response: closing a socket with unread bytes in it makes the kernel send a reset, and a client still
 * uploading then gets EPIPE or ECONNRESET, often before it has read the answer. So the gateway only shuts
 * its side once the response is out, keeps reading and discarding what the client sends (Node's HTTP
 * parser drops the body of a request whose response has ended: nothing is buffered) until the client
 * ends or `limits` are reached, and only then closes.
 *
 * Node ends a `Connection: close` response by calling its socket's `destroySoon`; this socket's one does
 * the above instead.
 */
export function lingerOnClose(socket: Socket, limits: Readonly<LingerLimits> = LINGER_LIMITS): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  socket.destroySoon = function lingeringClose(this: Socket): void {
    // Sends FIN once the response is flushed: the client reads the answer, then the end of the stream.
    if (this.writable) this.end();
    if (this.destroyed) return;
    const startBytes = this.bytesRead;
    const close = (): void => {
      clearTimeout(deadline);
      clearInterval(sizeCheck);
      this.destroy();
    };
    const deadline = setTimeout(close, limits.timeMs);
    const sizeCheck = setInterval(() => {
      if (this.bytesRead - startBytes >= limits.bytes) close();
    }, BYTES_CHECK_MS);
    deadline.unref();
    sizeCheck.unref();
    // The client has sent all it will, or has gone: nothing more to wait for.
    this.once('end', close);
    this.once('close', close);
  };
}
