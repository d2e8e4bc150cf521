import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGatewayProcess, testConfig, type GatewayProcess } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { sendCommand, startRedis } from '../helpers/redis.js';

const messages = [{ role: 'user' as const, content: 'one two three four five six seven eight nine ten' }];
const REPLY = 'Echo: one two three four five six seven eight nine ten';

/** Resolves with how a request to the gateway fared: its status, or the connection error's code. */
async function probe(url: string): Promise<number | string> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(err);
  }
}

/** The process's exit code, or 'still running' when it has not exited within `ms`. */
async function exitWithin(gateway: GatewayProcess, ms: number): Promise<number | null | 'still running'> {
  return Promise.race([gateway.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms))]);
}

interface StreamResult {
  text: string;
  chunks: number;
  error: unknown;
}

describe('graceful shutdown of the gateway process', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(streamChunks: number, chunkDelayMs: number, drainMs: number, redisUrl?: string): Promise<{ mock: MockUpstream; gateway: GatewayProcess }> {
    const mock = await startMockUpstream({ streamChunks, chunkDelayMs });
    cleanups.push(() => mock.close());
    const gateway = await startGatewayProcess(testConfig(mock.url, { shutdown: { drainMs }, ...(redisUrl === undefined ? {} : { redis: { url: redisUrl } }) }));
    cleanups.push(() => gateway.stop('SIGKILL'));
    return { mock, gateway };
  }

  /** Starts a stream through the gateway; resolves `begun` at its first content, `done` when it ends. */
  function stream(gateway: GatewayProcess): { begun: Promise<void>; done: Promise<StreamResult> } {
    const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: gateway.baseURL, maxRetries: 0, timeout: 60_000 });
    let begin!: () => void;
    const begun = new Promise<void>((resolve) => (begin = resolve));
    const done = (async (): Promise<StreamResult> => {
      const result: StreamResult = { text: '', chunks: 0, error: undefined };
      try {
        for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true })) {
          result.chunks++;
          result.text += chunk.choices[0]?.delta.content ?? '';
          if (result.text !== '') begin();
        }
      } catch (error) {
        result.error = error;
      }
      begin();
      return result;
    })();
    return { begun, done };
  }

  it('on SIGTERM stops accepting, finishes the stream in flight with every chunk, and exits 0', async () => {
    // 20 pieces 150 ms apart: the stream has about 3 s to go when the signal arrives.
    const { gateway } = await start(20, 150, 30_000);
    const inFlight = stream(gateway);
    await inFlight.begun;
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');

    // New connections are refused (or answered 503) while the stream goes on.
    let refused: number | string = 200;
    for (let i = 0; i < 40 && refused === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      refused = await probe(gateway.url);
    }
    expect(['ECONNREFUSED', 503]).toContain(refused);

    const result = await inFlight.done;
    expect(result.error).toBeUndefined();
    expect(result.text).toBe(REPLY);
    expect(result.chunks).toBe(22); // role, 20 pieces, finish
    // Promptly once the stream is done: not held until drainMs by the client's idle keep-alive connection.
    expect(await exitWithin(gateway, 12_000 - (Date.now() - signalledAt))).toBe(0);
    expect(gateway.output.some((line) => line.includes('"msg":"gateway stopped"'))).toBe(true);
  });

  it('on SIGTERM with nothing in flight, exits 0 at once, even with idle keep-alive clients', async () => {
    const { gateway } = await start(2, 0, 20_000);
    // A keep-alive connection left idle by a finished request must not hold the shutdown up.
    const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: gateway.baseURL, maxRetries: 0 });
    expect((await client.chat.completions.create({ model: 'gpt-4o', messages })).choices[0]!.message.content).toBe(REPLY);
    gateway.child.kill('SIGTERM');
    expect(await exitWithin(gateway, 5_000)).toBe(0);
  });

  it('with Redis configured, a stream in flight still completes, and the process exits 0 leaving no connection on Redis', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const connectedClients = async (): Promise<number> => Number(/connected_clients:(\d+)/.exec(await sendCommand(redis.port, 'INFO clients'))![1]) - 1; // minus this probe
    const { gateway } = await start(10, 100, 20_000, redis.url);
    const inFlight = stream(gateway);
    await inFlight.begun;
    gateway.child.kill('SIGTERM');
    const result = await inFlight.done;
    expect([result.error, result.text]).toEqual([undefined, REPLY]);
    expect(await exitWithin(gateway, 10_000)).toBe(0);
    expect(await connectedClients()).toBe(0);
  });

  it('shutdown.drainMs bounds the wait: a stream that would outlast it is cut, and the process still exits 0', async () => {
    // 40 pieces 250 ms apart: about 10 s, far beyond a 1 s drain.
    const drainMs = 1_000;
    const { gateway } = await start(40, 250, drainMs);
    const inFlight = stream(gateway);
    await inFlight.begun;
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    const code = await exitWithin(gateway, drainMs + 4_000);
    const elapsed = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(drainMs - 100);
    const result = await inFlight.done;
    expect(result.error).toBeDefined(); // the SDK raises on the cut stream rather than hanging
    expect(REPLY.startsWith(result.text)).toBe(true);
    expect(result.text).not.toBe(REPLY);
    expect(gateway.output.some((line) => line.includes('drain time is over'))).toBe(true);
  });
});
