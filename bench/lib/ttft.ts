// Time to first token: one streamed chat at a time, from sending the request to the first SSE event that
// carries content, alternating targets request by request so that drift hits them all alike.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { LIMITED_KEY, requestHeaders, STREAM_BODY } from './requests.js';
import { mean, percentile } from './stats.js';

export interface TtftResult {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
}

/** The first event with a non-empty content delta (the role-only first event has `"content":""`). */
const CONTENT_TOKEN = /"content":"[^"]/;

function firstToken(agent: http.Agent, origin: string, key: string | number): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { ...requestHeaders(key, true), 'content-length': String(Buffer.byteLength(STREAM_BODY)) };
    const started = performance.now();
    const req = http.request(`${origin}/v1/chat/completions`, { method: 'POST', agent, headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${origin} answered ${res.statusCode}`));
        return;
      }
      let ttft = NaN;
      let seen = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (!Number.isNaN(ttft)) return;
        seen += chunk;
        if (CONTENT_TOKEN.test(seen)) ttft = performance.now() - started;
      });
      res.once('end', () => (Number.isNaN(ttft) ? reject(new Error(`${origin}: stream had no content`)) : resolve(ttft)));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(STREAM_BODY);
  });
}

/** `count` measured streams per target after `warmup` unmeasured ones, on one keep-alive connection each. */
export async function measureTtft(
  targets: { name: string; origin: string; /** The client key's secret; the limited config key when not given. */ key?: string }[],
  count: number,
  warmup = 30,
): Promise<Map<string, TtftResult>> {
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const samples = targets.map(() => [] as number[]);
  try {
    for (let i = 0; i < warmup + count; i++) {
      for (let k = 0; k < targets.length; k++) {
        const t = (i + k) % targets.length; // rotate who goes first
        const ms = await firstToken(agents[t]!, targets[t]!.origin, targets[t]!.key ?? LIMITED_KEY);
        if (i >= warmup) samples[t]!.push(ms);
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  return new Map(
    targets.map((target, t) => {
      const sorted = Float64Array.from(samples[t]!).sort();
      return [target.name, { samples: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean: mean(sorted) }];
    }),
  );
}
