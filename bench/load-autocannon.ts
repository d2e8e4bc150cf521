// The load generator when wrk is not installed: autocannon in a process of its own, so that its CPU is
// neither the bench's nor the measured proxy's. Prints one JSON line: responses, failures, duration and
// latency percentiles in ms (from every response's own timing; autocannon's histogram keeps whole ms).
//   node load-autocannon.mjs '<json: { url, connections, durationS, method, path, headers, body }>'
import autocannon from 'autocannon';

interface Job {
  url: string;
  connections: number;
  durationS: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const samples: number[] = [];
const instance = autocannon(
  {
    url: job.url,
    connections: job.connections,
    duration: job.durationS,
    // autocannon checks for the end of the run once per sample interval: 1 s by default.
    sampleInt: 100,
    timeout: 30,
    requests: [{ method: job.method, path: job.path, headers: job.headers, body: job.body }],
  },
  (err, result) => {
    if (err !== null) throw err;
    const sorted = Float64Array.from(samples).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
    let sum = 0;
    for (const s of sorted) sum += s;
    const out = {
      responses: sorted.length,
      failures: result.non2xx + result.errors + result.timeouts,
      durationS: result.duration,
      p50: at(0.5),
      p99: at(0.99),
      p999: at(0.999),
      mean: sum / sorted.length,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
instance.on('response', (_client, _status, _bytes, ms) => {
  samples.push(ms);
});
