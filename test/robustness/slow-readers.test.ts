// Clients that stop reading: the gateway pauses the upstream instead of buffering its answer, so its memory
// stays bounded whatever the clients do, and every answer still arrives whole once they read again.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGatewayProcess, testConfig, type GatewayProcess } from '../helpers/gateway.js';
import { contentChunk, DONE_EVENT, finishChunk, startScriptedUpstream, usageChunk, writeRespectingBackpressure, type ScriptedUpstream } from '../helpers/scripted-upstream.js';

const CLIENTS = 50;
const BODY_BYTES = 10 * 1024 * 1024;
const STALL_MS = 5_000;
/**
 * The whole answers come to 500 MiB; what the gateway may grow by while holding them, in all. Measured: 70 to
 * 102 MiB on Node 20 to 26 (about 1.5 to 2 MiB a stalled stream, the same before and after the streams' direct
 * relay), so the bound leaves room for the collector's timing; a gateway that buffered what its clients do not
 * read would grow by up to 500 MiB.
 */
const MAX_GROWTH_BYTES = 128 * 1024 * 1024;

/** A 10 MiB stream of ~1 KiB events, as the upstream sends it when the client asked for usage. */
function bigStream(): Buffer {
  const event = contentChunk('x'.repeat(900));
  const events: string[] = [];
  for (let size = 0; size < BODY_BYTES; size += event.length) events.push(event);
  events.push(finishChunk(), usageChunk(10, events.length), DONE_EVENT);
  return Buffer.from(events.join(''));
}

/** A 10 MiB JSON answer. */
function bigAnswer(): Buffer {
  const content = 'y'.repeat(BODY_BYTES);
  return Buffer.from(
    JSON.stringify({
      id: 'chatcmpl-big',
      object: 'chat.completion',
      created: 1700000000,
      model: 'gpt-4o',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    }),
  );
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Sends one request and resolves with its response, unread (Node's client stops reading the socket). */
function post(agent: Agent, url: string, body: object): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/chat/completions`, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    });
    req.on('response', resolve).on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Reads a response to its end, keeping only its length and digest. */
function digest(response: IncomingMessage): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    response.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    response.on('error', reject);
  });
}

describe('clients that stop reading', () => {
  const stream = bigStream();
  const answer = bigAnswer();
  let upstream: ScriptedUpstream;
  let gateway: GatewayProcess;
  let agent: Agent;

  beforeAll(async () => {
    upstream = await startScriptedUpstream(async (body, res) => {
      const streamed = body.stream === true;
      res.writeHead(200, { 'content-type': streamed ? 'text/event-stream' : 'application/json' });
      await writeRespectingBackpressure(res, streamed ? stream : answer);
    });
    gateway = await startGatewayProcess(testConfig(upstream.url));
    agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  }, 30_000);
  afterAll(async () => {
    agent?.destroy();
    await gateway?.stop();
    await upstream?.close();
  });

  async function stallThenRead(body: object, expected: Buffer): Promise<void> {
    const pid = gateway.child.pid!;
    // Warm up (code paths compiled, buffers allocated) before the baseline is taken.
    await digest(await post(agent, gateway.url, body));
    const baseline = rssBytes(pid);

    const responses = await Promise.all(Array.from({ length: CLIENTS }, () => post(agent, gateway.url, body)));
    let peak = baseline;
    for (let waited = 0; waited < STALL_MS; waited += 250) {
      await delay(250);
      peak = Math.max(peak, rssBytes(pid));
    }
    const results = await Promise.all(responses.map(digest));
    peak = Math.max(peak, rssBytes(pid));

    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 200));
    expect(peak - baseline, `RSS grew from ${baseline >> 20} MiB to ${peak >> 20} MiB`).toBeLessThan(MAX_GROWTH_BYTES);
    const want = { bytes: expected.length, sha256: sha256(expected) };
    for (const result of results) expect(result).toEqual(want);
  }

  it('pauses 50 streams of 10 MiB whose clients read nothing for 5 s, then relays each byte for byte', async () => {
    await stallThenRead({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }, stream);
  }, 120_000);

  it('pauses 50 JSON answers of 10 MiB whose clients read nothing for 5 s, then relays each byte for byte', async () => {
    await stallThenRead({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, answer);
  }, 120_000);
});
