// A TCP relay in front of a Redis server that records each chunk a client writes to it, and can hold back
// Redis's replies: to see how many writes a connection makes, and whether it waits for replies before the next.
import net from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { redisFromUrl } from '../../src/config/redis-schema.js';
import { createRedisConnection } from '../../src/redis/client.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { startRedis } from './redis.js';

export interface RedisTap {
  /** `redis://127.0.0.1:<port>` of the relay. */
  readonly url: string;
  /** Every chunk clients wrote, in order, as text. */
  readonly writes: string[];
  /** Holds Redis's replies until {@link release}. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startRedisTap(redisPort: number): Promise<RedisTap> {
  const writes: string[] = [];
  const sockets = new Set<net.Socket>();
  let held: (() => void)[] | undefined;
  const server = net.createServer((client) => {
    const redis = net.connect(redisPort, '127.0.0.1');
    sockets.add(client).add(redis);
    client.on('data', (chunk: Buffer) => {
      writes.push(chunk.toString('latin1'));
      redis.write(chunk);
    });
    redis.on('data', (chunk: Buffer) => {
      if (held === undefined) client.write(chunk);
      else held.push(() => client.write(chunk));
    });
    const end = (): void => {
      client.destroy();
      redis.destroy();
    };
    client.on('close', end).on('error', end);
    redis.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    writes,
    hold: () => {
      held ??= [];
    },
    release: () => {
      const replies = held ?? [];
      held = undefined;
      for (const reply of replies) reply();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** How many commands a chunk of RESP carries (each is an array: `*<n>\r\n$...`). */
export function commandsIn(chunk: string): number {
  return chunk.match(/(^|\r\n)\*\d+\r\n\$/g)?.length ?? 0;
}

export const silentLog = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;

export interface TappedRedis {
  tap: RedisTap;
  /** The gateway's connection, ready, writing through the tap. */
  redis: RedisConnection;
  /** Closes the connection, the tap and the server. */
  close(): Promise<void>;
}

/** A real redis-server, a tap in front of it, and the gateway's connection through the tap, once ready. */
export async function startTappedRedis(): Promise<TappedRedis> {
  const server = await startRedis();
  const tap = await startRedisTap(server.port);
  const redis = createRedisConnection({ ...redisFromUrl(tap.url), timeoutMs: 5_000 }, silentLog);
  for (const started = Date.now(); !redis.ready; await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() - started > 10_000) throw new Error('the Redis connection through the tap did not become ready');
  }
  return {
    tap,
    redis,
    close: async () => {
      await redis.close();
      await tap.close();
      await server.stop();
    },
  };
}
