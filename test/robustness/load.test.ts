import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGatewayProcess, testConfig, type GatewayProcess } from '../helpers/gateway.js';
import { startMockProcess, type MockProcess } from '../helpers/mock-process.js';

const STREAMS = 1_000;
const PIECES = 20;
const CHUNK_DELAY_MS = 50;
/** Generous: on an idle 2-core machine every stream has begun within about 3 s. */
const BEGIN_WITHIN_MS = 45_000;
const PROMPT = 'the quick brown fox jumps over the lazy dog';
const REPLY = `Echo: ${PROMPT}`;

interface StreamOutcome {
  status: number;
  text: string;
  chunks: number;
  done: boolean;
  firstByteAt: number;
  endedAt: number;
}

/** Fields of /proc/<pid>/status in kB, such as VmRSS and VmHWM (peak RSS). */
function memoryKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]);
}

/** Reads one streamed chat with raw HTTP, counting its SSE events; calls `begun` at its first bytes. */
async function oneStream(dispatcher: Agent, url: string, begun: () => void): Promise<StreamOutcome> {
  const response = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: PROMPT }], stream: true }),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const outcome: StreamOutcome = { status: response.statusCode, text: '', chunks: 0, done: false, firstByteAt: 0, endedAt: 0 };
  let pending = '';
  for await (const data of response.body) {
    if (outcome.firstByteAt === 0) {
      outcome.firstByteAt = performance.now();
      begun();
    }
    pending += (data as Buffer).toString('utf8');
    let end = pending.indexOf('\n\n');
    while (end >= 0) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      end = pending.indexOf('\n\n');
      if (!event.startsWith('data: ')) throw new Error(`unexpected event: ${event}`);
      const payload = event.slice('data: '.length);
      if (payload === '[DONE]') {
        outcome.done = true;
        continue;
      }
      const chunk = JSON.parse(payload) as { choices: { delta: { content?: string } }[] };
      outcome.chunks++;
      outcome.text += chunk.choices[0]?.delta.content ?? '';
    }
  }
  outcome.endedAt = performance.now();
  return outcome;
}

describe(`${STREAMS} concurrent streams through one gateway process`, () => {
  let mock: MockProcess;
  let gateway: GatewayProcess;
  const dispatcher = new Agent({ connections: STREAMS, keepAliveTimeout: 10_000 });
  beforeAll(async () => {
    // The upstream runs in its own process too, so neither it nor this client weighs on the gateway's.
    // Its streams send all but their last chunk, then wait for the word: every stream is open at once.
    mock = await startMockProcess([String(PIECES), String(CHUNK_DELAY_MS)], 'test/helpers/gated-mock.ts');
    gateway = await startGatewayProcess(testConfig(mock.url));
  });
  afterAll(async () => {
    await dispatcher.destroy();
    await gateway?.stop();
    await mock?.stop();
  });

  it('all complete with every chunk delivered; peak RSS is reported', async () => {
    const pid = gateway.child.pid!;
    const rssBeforeKb = memoryKb(pid, 'VmRSS');
    let sampledPeakKb = rssBeforeKb;
    let openAtOnceKb = 0;
    const sampler = setInterval(() => (sampledPeakKb = Math.max(sampledPeakKb, memoryKb(pid, 'VmRSS'))), 100);
    const started = performance.now();
    let begunCount = 0;
    let allBegun!: () => void;
    const everyStreamBegun = new Promise<void>((resolve) => (allBegun = resolve));
    const begun = (): void => {
      if (++begunCount === STREAMS) allBegun();
    };
    let outcomes: StreamOutcome[];
    try {
      const pending = Promise.all(Array.from({ length: STREAMS }, () => oneStream(dispatcher, gateway.url, begun)));
      // A stream that fails before it begins rejects `pending` at once rather than leaving this to time out.
      const tooLong = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`only ${begunCount} of ${STREAMS} streams had begun after ${BEGIN_WITHIN_MS} ms`)), BEGIN_WITHIN_MS).unref(),
      );
      await Promise.race([everyStreamBegun, pending, tooLong]);
      openAtOnceKb = memoryKb(pid, 'VmRSS');
      mock.child.stdin!.write('release\n');
      outcomes = await pending;
    } finally {
      clearInterval(sampler);
    }
    const elapsedMs = performance.now() - started;
    const peakKb = memoryKb(pid, 'VmHWM');

    const failed = outcomes.filter((o) => o.status !== 200 || !o.done || o.text !== REPLY || o.chunks !== PIECES + 2);
    // Streams open at the same time: the most that were between their first byte and their end at once.
    const marks = outcomes.flatMap((o) => [[o.firstByteAt, 1] as const, [o.endedAt, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let maxOpen = 0;
    for (const [, delta] of marks) maxOpen = Math.max(maxOpen, (open += delta));

    console.log(
      `load: ${STREAMS} concurrent streams x ${PIECES + 2} chunks in ${Math.round(elapsedMs)} ms; ` +
        `at most ${maxOpen} open at once; failed: ${failed.length}; ` +
        `gateway RSS before ${Math.round(rssBeforeKb / 1024)} MiB, with all ${STREAMS} open ${Math.round(openAtOnceKb / 1024)} MiB, ` +
        `peak (VmHWM) ${Math.round(peakKb / 1024)} MiB, sampled peak ${Math.round(sampledPeakKb / 1024)} MiB`,
    );
    expect(failed.slice(0, 3)).toEqual([]);
    expect(maxOpen).toBe(STREAMS);
    expect(elapsedMs).toBeLessThan(60_000);
    // Still serving afterwards, and its log shows no failure.
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    expect(gateway.output.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
  }, 120_000);
});
