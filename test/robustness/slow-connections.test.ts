// Slow-loris connections against a real listening gateway: headers one line at a time, never finished.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOpenFileLimit } from '../../src/server/connections.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { manualClock } from '../helpers/manual-clock.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';
import { expectEnvelope, parseRawResponse } from '../helpers/raw-http.js';

const HEADERS_MS = 1_000;
const CLIENT_BODY_MS = 2_500;
const MAX_CONNECTIONS = 40;
/** A few hundred, and never more than a tenth of this process's file limit (each costs two descriptors here). */
const SLOW_CONNECTIONS = Math.min(300, Math.floor((parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8')) ?? 1_024) / 10));
/** Each slow connection sends a header line this often: sooner than HEADERS_MS, but it never ends its headers. */
const LINE_EVERY_MS = 300;
const SUMMARY_MSG = 'client connections rejected since the last summary';

interface Outcome {
  /** The status the gateway answered with; 0 when it closed the connection without a word. */
  status: number;
  body: string;
}

/** Opens a connection that sends `head` and then whatever `next()` gives every `everyMs`, until the gateway closes it. */
function trickle(port: number, head: string, next: (i: number) => string | undefined, everyMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on('error', () => undefined); // a dropped connection is reset: the outcome says so
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('connect', () => {
      socket.write(head);
      let i = 0;
      timer = setInterval(() => {
        const piece = next(i++);
        if (piece !== undefined && socket.writable) socket.write(piece);
      }, everyMs);
    });
    const giveUp = setTimeout(() => socket.destroy(), 30_000);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      const { status, body } = parseRawResponse(Buffer.concat(chunks).toString('utf8'));
      resolve({ status, body });
    });
  });
}

async function rejections(gateway: RunningGateway): Promise<Record<string, number | undefined>> {
  const exposition = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
  return Object.fromEntries(
    ['headers_timeout', 'body_timeout', 'too_many_connections'].map((reason) => [reason, value(exposition, 'gateway_connection_rejections_total', { reason })]),
  );
}

describe('slow connections', () => {
  const clock = manualClock();
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let port: number;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(
      testConfig(mock.url, { listen: { host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS }, timeouts: { headersMs: HEADERS_MS, clientBodyMs: CLIENT_BODY_MS } }),
      {},
      { connectionLogClock: clock },
    );
    port = Number(new URL(gateway.url).port);
  });
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('counts every reason from 0', async () => {
    expect(await rejections(gateway)).toEqual({ headers_timeout: 0, body_timeout: 0, too_many_connections: 0 });
  });

  it(`cuts ${SLOW_CONNECTIONS} slow-loris connections after timeouts.headersMs, refuses those over listen.maxConnections, and serves a real client`, async () => {
    const opened = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: SLOW_CONNECTIONS }, () => trickle(port, 'POST /v1/chat/completions HTTP/1.1\r\n', (i) => `X-Slow-${i}: ${i}\r\n`, LINE_EVERY_MS)),
    );
    const allClosedAfter = Date.now() - opened;

    const timedOut = outcomes.filter((o) => o.status === 408);
    const dropped = outcomes.filter((o) => o.status === 0);
    expect(timedOut.length + dropped.length).toBe(SLOW_CONNECTIONS);
    // Opened at once: the gateway held what its cap allowed (less the test's own keep-alive connection) and
    // closed the rest on arrival.
    expect(timedOut.length).toBeGreaterThanOrEqual(MAX_CONNECTIONS / 2);
    expect(dropped.length).toBeGreaterThanOrEqual(SLOW_CONNECTIONS - 2 * MAX_CONNECTIONS);
    for (const outcome of timedOut) {
      const { error } = expectEnvelope(outcome.body);
      expect(error.code).toBe('request_timeout');
      expect(error.message).toBe(`The request headers were not received within ${HEADERS_MS} ms.`);
    }
    // Cut after headersMs and one sweep of Node's (not after clientBodyMs or Node's 60 s); the margin is for a loaded machine.
    expect(allClosedAfter).toBeLessThan(CLIENT_BODY_MS + 10_000);

    expect(await rejections(gateway)).toEqual({ headers_timeout: timedOut.length, body_timeout: 0, too_many_connections: dropped.length });

    const completion = await gateway.client(CLIENT_KEY, { timeout: 10_000 }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'still here' }] });
    expect(completion.choices[0]!.message.content).toBe('Echo: still here');
  }, 60_000);

  it('counts a body sent too slowly as body_timeout', async () => {
    const before = await rejections(gateway);
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'slowly' }] });
    const outcome = await trickle(
      port,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      (i) => body[i],
      200,
    );
    expect(outcome.status).toBe(408);
    expect(expectEnvelope(outcome.body).error.code).toBe('request_timeout');
    expect(await rejections(gateway)).toEqual({ ...before, body_timeout: 1 });
    expect(mock.requests.filter((r) => r.rawBody.includes('slowly'))).toHaveLength(0);
  });

  it('logs one summary line a minute at most, with the counts', async () => {
    const counted = await rejections(gateway);
    const summaries = (): Record<string, number>[] =>
      gateway.logs.lines.filter((l) => l.msg === SUMMARY_MSG).map((l) => l.rejectedConnections as Record<string, number>);
    // Hundreds of rejections within a few seconds: the first was logged at once, the rest wait for the minute.
    expect(summaries()).toHaveLength(1);
    clock.advance(59_000);
    expect(summaries()).toHaveLength(1);
    clock.advance(1_000);
    expect(summaries()).toHaveLength(2);
    const logged: Record<string, number> = { headers_timeout: 0, body_timeout: 0, too_many_connections: 0 };
    for (const line of summaries()) for (const reason of Object.keys(logged)) logged[reason]! += line[reason] ?? Number.NaN;
    expect(logged).toEqual(counted);
    clock.advance(10 * 60_000);
    expect(summaries()).toHaveLength(2); // nothing new, nothing logged
  });
});
