// A request upstream: its answer's head, then its body as a stream; cancelled by the request's abort or by
// destroying the body, with undici's own error codes.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestUpstream, UpstreamAbort, type UpstreamRequest } from '../../src/proxy/upstream-request.js';

describe('requestUpstream', () => {
  let server: Server;
  let origin: string;
  const agent = new Agent();
  /** Resolved when the upstream sees the connection of the request named so close. */
  const closed = new Map<string, Promise<void>>();
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const name = req.url!.slice(1);
      closed.set(name, new Promise((resolve) => res.once('close', () => resolve())));
      req.resume();
      if (name === 'answer') {
        res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        res.write('{"a":');
        setTimeout(() => res.end('1}'), 10);
      } else if (name === 'silent') {
        held.push(res);
      } else {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"n":1}\n\n');
        held.push(res);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await agent.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const call = (name: string, abort = new UpstreamAbort()): Promise<Awaited<ReturnType<typeof requestUpstream>>> => {
    const request: UpstreamRequest = { origin, path: `/${name}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', abort, headersTimeout: 5_000, bodyTimeout: 5_000 };
    return requestUpstream(agent, request);
  };

  it('resolves with the status and headers, then streams the body to its end', async () => {
    const response = await call('answer');
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-upstream']).toBe('yes');
    let text = '';
    for await (const chunk of response.body) text += String(chunk);
    expect(text).toBe('{"a":1}');
  });

  it('fails with UND_ERR_ABORTED when aborted before the answer, and closes the upstream connection', async () => {
    const abort = new UpstreamAbort();
    const pending = call('silent', abort);
    await new Promise((resolve) => setTimeout(resolve, 50));
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    await closed.get('silent');
  });

  it('fails at once with UND_ERR_ABORTED when its abort fired before it was sent', async () => {
    const abort = new UpstreamAbort();
    abort.abort();
    await expect(call('answer', abort)).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
  });

  it('ends the body with UND_ERR_ABORTED when aborted after the head, and closes the upstream connection', async () => {
    const abort = new UpstreamAbort();
    const response = await call('stream', abort);
    const failed = new Promise<Error & { code?: string }>((resolve) => response.body.once('error', resolve));
    response.body.resume();
    abort.abort();
    expect((await failed).code).toBe('UND_ERR_ABORTED');
    await closed.get('stream');
  });

  it('aborts the upstream request when its body is destroyed before its end', async () => {
    const response = await call('stream2');
    response.body.once('error', () => {});
    response.body.destroy();
    await closed.get('stream2');
    expect(response.body.destroyed).toBe(true);
  });

  it("keeps neither the head's raw bytes nor the answer's head while the body runs (undici holds the handler until then)", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let handler: Dispatcher.DispatchHandler | undefined;
    // What undici does with a handler: keeps it, with its controller, for as long as the answer's body runs.
    const dispatcher = { dispatch: (_options: unknown, kept: Dispatcher.DispatchHandler) => ((handler = kept), true) } as unknown as Dispatcher;
    const controller = { rawHeaders: [Buffer.from('x-upstream'), Buffer.from('yes')], aborted: false, abort() {}, pause() {}, resume() {} };
    const request: UpstreamRequest = { origin, path: '/held', method: 'POST', headers: {}, body: '{}', abort: new UpstreamAbort(), headersTimeout: 5_000, bodyTimeout: 5_000 };
    const head = await (async () => {
      const pending = requestUpstream(dispatcher, request);
      handler!.onRequestStart!(controller as unknown as Dispatcher.DispatchController, {});
      handler!.onResponseStart!(controller as unknown as Dispatcher.DispatchController, 200, { 'x-upstream': 'yes' }, 'OK');
      return new WeakRef((await pending).headers);
    })();
    expect(controller.rawHeaders).toBeNull();
    await new Promise((resolve) => setImmediate(resolve)); // a WeakRef's target is kept to the end of the turn that made it
    gc();
    expect(head.deref()).toBeUndefined();
    expect(handler).toBeDefined();
  });
});
