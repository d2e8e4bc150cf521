import type { Socket } from 'node:net';
import fp from 'fastify-plugin';

/** How often, while closing, connections that have fallen idle are closed. */
const IDLE_SWEEP_MS = 100;

/**
 * What `app.close()` does with client connections: requests in flight finish, every connection is closed
 * as soon as it has none, and whatever is still open after `shutdown.drainMs` is cut, so closing always
 * completes.
 *
 * Node's own `server.close()` closes the connections idle at that moment, once. It misses two kinds:
 * - a keep-alive connection whose request finishes later (the sweep closes it as it falls idle);
 * - a connection that has not sent a byte yet, which Node counts as busy (its headers timeout runs from
 *   the connect) and which, once the server closes, nothing cuts any more: Node stops checking timeouts
 *   then. HTTP clients open such connections: Node's fetch (undici, as the OpenAI SDK uses it) opens a
 *   spare one to the same origin when a request is aborted, and keeps it as long as it likes.
 */
export const drainOnClose = fp(
  async (app) => {
    const sockets = new Set<Socket>();
    app.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const closeIdle = (): void => {
      app.server.closeIdleConnections();
      // Nothing read: no request, not even part of one, can be lost with it.
      for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
    };

    let sweep: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    app.addHook('preClose', (done) => {
      app.services.draining = true;
      const { drainMs } = app.services.config.shutdown;
      closeIdle();
      sweep = setInterval(closeIdle, IDLE_SWEEP_MS).unref();
      deadline = setTimeout(() => {
        app.log.warn({ drainMs, connections: sockets.size }, 'drain time is over: closing the connections still open');
        app.server.closeAllConnections();
      }, drainMs).unref();
      done();
    });
    app.addHook('onClose', (_app, done) => {
      clearInterval(sweep);
      clearTimeout(deadline);
      done();
    });
  },
  { name: 'ai-gateway-drain-on-close', fastify: '5.x' },
);
