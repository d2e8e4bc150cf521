// Closing a listening gateway in-process (`app.close()`, which SIGTERM runs too): requests in flight
// finish and are logged, connections close as they fall idle, and closing completes even when a client
// keeps a connection open on which it has sent nothing, or holds a request past shutdown.drainMs.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';

const hello = [{ role: 'user' as const, content: 'hi' }];

describe('closing a gateway', () => {
  let upstream: UsageUpstream;
  let release: () => void = () => undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    release();
    for (const socket of sockets.splice(0)) socket.destroy();
    await upstream?.close();
  });

  async function start(overrides: Partial<GatewayConfigInput> = {}): Promise<RunningGateway> {
    upstream = await startUsageUpstream();
    return startGateway(testConfig(upstream.url, overrides));
  }

  /** Holds the upstream's chat answers until `release()`. */
  function holdUpstream(): void {
    let resolve!: () => void;
    upstream.hold = new Promise<void>((r) => (resolve = r));
    release = () => {
      upstream.hold = undefined;
      resolve();
    };
  }

  /** A TCP connection to the gateway, once the gateway has accepted it and read `data` (if any) from it. */
  async function openConnection(g: RunningGateway, data?: string): Promise<Socket> {
    const accepted = once(g.app.server, 'connection') as Promise<[Socket]>;
    const socket = connect(Number(new URL(g.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    sockets.push(socket);
    const [serverSide] = await accepted;
    if (data !== undefined) {
      socket.write(data);
      await vi.waitFor(() => expect(serverSide.bytesRead).toBe(Buffer.byteLength(data)), { timeout: 5_000, interval: 10 });
    }
    return socket;
  }

  const connections = (g: RunningGateway): Promise<number> =>
    new Promise((resolve, reject) => g.app.server.getConnections((err, count) => (err === null ? resolve(count) : reject(err))));
  const statuses = (g: RunningGateway): unknown[] => g.logs.lines.filter((l) => l.status !== undefined).map((l) => l.status);

  it('completes with a connection open on which the client has sent nothing, and closes that connection', async () => {
    const g = await start();
    const silent = await openConnection(g);
    const silentClosed = once(silent, 'close');
    await g.close();
    await silentClosed;
    expect(await connections(g)).toBe(0);
  });

  it('after a client hung up while the upstream was answering, lets the request in flight finish, logs every request, and completes', async () => {
    const g = await start();
    const client = g.client();
    // A finished request first, so the client's connection is kept alive for as long as the gateway allows.
    expect((await client.chat.completions.create({ model: 'gpt-4o', messages: hello })).choices).toHaveLength(1);
    holdUpstream();
    const abort = new AbortController();
    const before = upstream.chatRequests;
    const abandoned = client.chat.completions.create({ model: 'gpt-4o', messages: hello }, { signal: abort.signal });
    await vi.waitFor(() => expect(upstream.chatRequests).toBe(before + 1), { timeout: 5_000, interval: 10 });
    abort.abort();
    await expect(abandoned).rejects.toThrow(OpenAI.APIUserAbortError);
    await vi.waitFor(() => expect(statuses(g)).toContain(499), { timeout: 5_000, interval: 10 });

    // A request in flight when closing begins is answered in full; the hang-up's spare connection does not hold closing up.
    const inFlight = client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    await vi.waitFor(() => expect(upstream.chatRequests).toBe(before + 2), { timeout: 5_000, interval: 10 });
    const closed = g.close();
    release();
    expect((await inFlight).choices[0]!.message.content).toBeTypeOf('string');
    await closed;
    expect(await connections(g)).toBe(0);
    expect(statuses(g).sort()).toEqual([200, 200, 499]);
  });

  it('cuts what is still open after shutdown.drainMs (a request held upstream, a half-sent request), logs the request and completes', async () => {
    const g = await start({ shutdown: { drainMs: 300 } });
    holdUpstream();
    const held = g.client().chat.completions.create({ model: 'gpt-4o', messages: hello }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(upstream.chatRequests).toBe(1), { timeout: 5_000, interval: 10 });
    const halfSent = await openConnection(g, 'POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n');
    const halfSentClosed = once(halfSent, 'close');
    await g.close();
    await halfSentClosed;
    expect(await held).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(statuses(g)).toEqual([499]);
    expect(g.logs.lines.some((l) => l.msg === 'drain time is over: closing the connections still open')).toBe(true);
  });
});
