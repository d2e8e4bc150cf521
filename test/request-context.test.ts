// UpstreamAbort, the signal of every upstream request: undici takes it as an EventEmitter-like signal.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamAbort } from '../src/request-context.js';

describe('UpstreamAbort', () => {
  let server: Server;
  let origin: string;
  const agent = new Agent();

  beforeAll(async () => {
    // Answers /fast at once; never answers anything else.
    server = createServer((req, res) => {
      if (req.url === '/fast') res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await agent.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const send = (path: string, signal: UpstreamAbort): Promise<Dispatcher.ResponseData> =>
    request(`${origin}${path}`, { dispatcher: agent, signal });

  it('aborts an undici request that is waiting for its answer', async () => {
    const signal = new UpstreamAbort();
    const pending = send('/never', signal);
    setImmediate(() => signal.abort());
    await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    expect(signal.aborted).toBe(true);
  });

  it('aborts at once a request whose signal has already fired', async () => {
    const signal = new UpstreamAbort();
    signal.abort();
    await expect(send('/fast', signal)).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
  });

  it('calls each listener once, and none that was removed', () => {
    const signal = new UpstreamAbort();
    const calls: string[] = [];
    const removed = (): void => {
      calls.push('removed');
    };
    signal.on('abort', () => calls.push('on'));
    signal.once('abort', () => calls.push('once'));
    signal.on('abort', removed);
    signal.removeListener('abort', removed);
    signal.abort();
    signal.abort();
    expect(calls).toEqual(['on', 'once']);
  });

  it('lets an answered request body be read to its end', async () => {
    const signal = new UpstreamAbort();
    const response = await send('/fast', signal);
    expect(await response.body.text()).toBe('ok');
    signal.abort(); // too late to matter
  });
});
