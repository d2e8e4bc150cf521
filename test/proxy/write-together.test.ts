// What a relayed stream releases in one turn of the event loop leaves in one write to the client's socket,
// with the end of the response when it comes in the same turn.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { writeTogether } from '../../src/proxy/write-together.js';

type Script = (source: PassThrough) => void;

/** Serves one response whose body `script` writes into a source piped to it; counts the socket's writes. */
async function serve(script: Script, together: boolean): Promise<{ server: Server; url: string; writes: () => number }> {
  let writes = 0;
  const server = createServer((_req, res: ServerResponse) => {
    const socket = res.socket as Socket & { _write: Socket['_write']; _writev?: Socket['_writev'] };
    const write = socket._write.bind(socket);
    const writev = socket._writev!.bind(socket);
    socket._write = (...args) => {
      writes++;
      write(...args);
    };
    socket._writev = (...args) => {
      writes++;
      writev(...args);
    };
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const source = new PassThrough();
    if (together) writeTogether(source, res);
    source.pipe(res);
    script(source);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, writes: () => writes };
}

const EVENTS = ['data: {"n":1}\n\n', 'data: {"n":2}\n\n', 'data: [DONE]\n\n'];

describe('writeTogether', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))));

  const whole: Script = (source) => {
    for (const event of EVENTS) source.write(event);
    source.end();
  };

  it('writes a stream that is released and ended in one turn, head, events and end, in one write', async () => {
    const served = await serve(whole, true);
    server = served.server;
    const response = await request(served.url);
    expect(await response.body.text()).toBe(EVENTS.join(''));
    expect(served.writes()).toBe(1);
  });

  it('makes more writes without it (what it saves)', async () => {
    const served = await serve(whole, false);
    server = served.server;
    const response = await request(served.url);
    expect(await response.body.text()).toBe(EVENTS.join(''));
    expect(served.writes()).toBeGreaterThan(1);
  });

  it('still writes each later turn as it comes: an event is never held for the next one', async () => {
    let release: () => void = () => {};
    const paced: Script = (source) => {
      source.write(EVENTS[0]);
      release = () => {
        source.write(EVENTS[1]);
        source.end(EVENTS[2]);
      };
    };
    const served = await serve(paced, true);
    server = served.server;
    const response = await request(served.url);
    const reader = response.body[Symbol.asyncIterator]();
    // The first event arrives while the rest is not even written yet.
    expect(String((await reader.next()).value)).toBe(EVENTS[0]);
    release();
    let rest = '';
    for (let next = await reader.next(); next.done !== true; next = await reader.next()) rest += String(next.value);
    expect(rest).toBe(EVENTS[1]! + EVENTS[2]!);
  });
});
