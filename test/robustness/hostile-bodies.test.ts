import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGatewayProcess, testConfig, type GatewayProcess } from '../helpers/gateway.js';

const MIB = 1024 * 1024;
/** The default `bodyLimitBytes`: the largest body the gateway reads. */
const BODY_LIMIT = 25 * MIB;
/**
 * `/healthz` must keep answering while hostile bodies arrive. An idle machine answers within 200 ms (each
 * test prints its worst latency: 80 to 280 ms seen on a loaded 2-core machine); the bound leaves room for a
 * busy CI machine, where the probe, the uploads and the gateway all wait for a core, and still catches a
 * gateway that stalls for seconds. The CPU time asserted below separates old from new on any machine.
 */
const HEALTHZ_WITHIN_MS = 3_000;
/** CPU time the gateway may spend on one refused 25 MiB body: reading it (about 60 ms), not parsing it. */
const CPU_MS_PER_BODY = 400;
/** Peak RSS growth allowed: one 25 MiB body is held while it is read (before the fix: 860 MiB and more). */
const RSS_GROWTH_MIB = 200;
const ADMIN_TOKEN = 'admin-token-0123456789';

/** `{"model":"gpt-4o-mini","messages":[1,1,1,...]}` of exactly `size` bytes. */
function arrayOfOnes(size: number): Buffer {
  const head = '{"model":"gpt-4o-mini","messages":[';
  const tail = '1]}';
  const ones = Math.floor((size - head.length - tail.length) / 2);
  return Buffer.concat([Buffer.from(head), Buffer.alloc(ones * 2, '1,'), Buffer.from(tail)]);
}

/** User plus system CPU time the process has used, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function memoryKib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]);
}

/**
 * Asks `/healthz` over and over, one request at a time, until `stop` has resolved and at least 10 answers
 * came; resolves with the worst latency seen and how many answers came (each one a 200).
 */
async function healthzWhile(url: string, stop: Promise<unknown>): Promise<{ worstMs: number; answers: number }> {
  const dispatcher = new Agent({ connections: 1 });
  let stopped = false;
  void stop.finally(() => (stopped = true));
  let worstMs = 0;
  let answers = 0;
  try {
    while (!stopped || answers < 10) {
      const started = performance.now();
      const response = await request(`${url}/healthz`, { dispatcher });
      await response.body.text();
      expect(response.statusCode).toBe(200);
      worstMs = Math.max(worstMs, performance.now() - started);
      answers++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await dispatcher.close();
  }
  return { worstMs, answers };
}

describe('hostile bodies against a gateway process', () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    // Nothing here reaches an upstream: every request is refused before one is chosen.
    gateway = await startGatewayProcess(testConfig('http://127.0.0.1:9/v1', { adminToken: ADMIN_TOKEN }));
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('refuses a 25 MiB array of numbers without stalling /healthz or holding much memory', async () => {
    const pid = gateway.child.pid!;
    const rssBeforeKib = memoryKib(pid, 'VmRSS');
    const huge = arrayOfOnes(BODY_LIMIT);
    const dispatcher = new Agent({ connections: 4 });
    const cpuBefore = cpuMs(pid);
    const send = async (body: Buffer): Promise<{ status: number; code: unknown }> => {
      const response = await request(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher,
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
        body,
      });
      const json = (await response.body.json()) as { error?: { code?: unknown } };
      return { status: response.statusCode, code: json.error?.code };
    };
    const hostile = (async () => {
      const outcomes = [await send(arrayOfOnes(MIB))];
      for (let i = 0; i < 3; i++) outcomes.push(await send(huge));
      return outcomes;
    })();
    const [outcomes, health] = await Promise.all([hostile, healthzWhile(gateway.url, hostile)]);
    const cpuSpentMs = cpuMs(pid) - cpuBefore;
    await dispatcher.close();

    expect(outcomes).toEqual(Array(4).fill({ status: 400, code: 'invalid_json' }));
    const peakGrowthMib = (memoryKib(pid, 'VmHWM') - rssBeforeKib) / 1024;
    console.log(
      `healthz worst ${health.worstMs.toFixed(1)} ms over ${health.answers} answers; ` +
        `gateway CPU ${cpuSpentMs} ms; peak RSS growth ${peakGrowthMib.toFixed(0)} MiB`,
    );
    // Three 25 MiB bodies, one of 1 MiB, and the health checks meanwhile.
    expect(cpuSpentMs).toBeLessThan(4 * CPU_MS_PER_BODY);
    expect(health.answers).toBeGreaterThan(0);
    expect(health.worstMs).toBeLessThan(HEALTHZ_WITHIN_MS);
    expect(peakGrowthMib).toBeLessThan(RSS_GROWTH_MIB);
  });

  it('reads no body sent without a key to paths that take none: 40 uploads of 25 MiB at once', async () => {
    const pid = gateway.child.pid!;
    const rssBeforeKib = memoryKib(pid, 'VmRSS');
    const hwmBeforeKib = memoryKib(pid, 'VmHWM');
    const body = arrayOfOnes(BODY_LIMIT - 1024).toString('latin1').replace('"messages":[1', '"messages":[{"role":"user","content":"hi"}');
    const upload = Buffer.from(body, 'latin1');
    const dispatcher = new Agent({ connections: 40 });
    const cpuBefore = cpuMs(pid);
    const paths = ['/nothing', '/healthz', '/admin/usage', '/metrics/x'];
    const uploads = Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        try {
          const response = await request(`${gateway.url}${paths[i % paths.length]}`, {
            method: 'POST',
            dispatcher,
            headers: { 'content-type': 'application/json' },
            body: upload,
          });
          await response.body.text();
          return response.statusCode;
        } catch (err) {
          return (err as Error).message;
        }
      }),
    );
    const [statuses, health] = await Promise.all([uploads, healthzWhile(gateway.url, uploads)]);
    const cpuSpentMs = cpuMs(pid) - cpuBefore;
    await dispatcher.close();

    const peakGrowthMib = (memoryKib(pid, 'VmHWM') - Math.max(rssBeforeKib, hwmBeforeKib)) / 1024;
    console.log(
      `healthz worst ${health.worstMs.toFixed(1)} ms over ${health.answers} answers; ` +
        `gateway CPU ${cpuSpentMs} ms; peak RSS growth ${peakGrowthMib.toFixed(0)} MiB`,
    );
    expect(statuses).toEqual(Array(40).fill(404));
    // The bodies are discarded as they arrive (about 8 ms of CPU per 25 MiB), never parsed.
    expect(cpuSpentMs).toBeLessThan(40 * CPU_MS_PER_BODY);
    expect(health.worstMs).toBeLessThan(HEALTHZ_WITHIN_MS);
    // VmHWM only grows: measured from the highest point reached before, this is what these uploads added.
    expect(peakGrowthMib).toBeLessThan(RSS_GROWTH_MIB);
  });
});
