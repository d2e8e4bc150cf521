// `npm run soak`: does the gateway give its memory back? A real gateway process (the build, its start
// flags, --expose-gc) with Redis (or without: --redis off) in front of the project's mock upstream, all on
// loopback, under steady load over every endpoint (bench/lib/soak-requests.ts) for --duration seconds at
// --concurrency requests in flight; then --idle seconds of rest. RSS is read from /proc, the V8 heap after
// a forced full GC through POST /admin/heap. Prints a summary on stderr and the report as one JSON line on
// stdout (and in --out when given).
//   node --import tsx bench/soak.ts [--duration 60] [--concurrency 8] [--idle 30] [--warmup 10]
//     [--redis on|off] [--max-requests N] [--sample 5] [--heap-every 60] [--source] [--out report.json]
//     [--endpoints chat,chat-stream,...]   (to bisect: only these of the rotation's names)
//     [--sticky-max-entries N]   (the gateway's sticky.maxEntries: small, its caches are full after the warm-up)
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { benchConfig } from './lib/gateway-config.js';
import { memory } from './lib/proc-stats.js';
import { getFreePort, startGateway, startMock, startRedisIfInstalled, stopAll, type BenchRedis, type Service } from './lib/procs.js';
import { BY_ID, NEW_CONVERSATION, newConversationChat, responseById, SOAK_REQUESTS, type SoakRequest } from './lib/soak-requests.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '8' },
    idle: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '10' },
    redis: { type: 'string', default: 'on' },
    'max-requests': { type: 'string', default: '50000000' },
    sample: { type: 'string', default: '5' },
    'heap-every': { type: 'string', default: '60' },
    source: { type: 'boolean', default: false },
    endpoints: { type: 'string' },
    'sticky-max-entries': { type: 'string' },
    out: { type: 'string' },
  },
});

/** A number option within [min, max]: the run is bounded in time and in count whatever it is asked. */
function bounded(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return n;
}
const DURATION_S = bounded('duration', args.duration, 1, 4 * 3600);
const CONCURRENCY = bounded('concurrency', args.concurrency, 1, 256);
const IDLE_S = bounded('idle', args.idle, 0, 3600);
const WARMUP_S = bounded('warmup', args.warmup, 0, 600);
const MAX_REQUESTS = bounded('max-requests', args['max-requests'], 1, 1e9);
const SAMPLE_S = bounded('sample', args.sample, 0.2, 600);
const HEAP_EVERY_S = bounded('heap-every', args['heap-every'], 1, 3600);
const STICKY_MAX_ENTRIES = args['sticky-max-entries'] === undefined ? undefined : bounded('sticky-max-entries', args['sticky-max-entries'], 1, 10_000_000);
if (args.redis !== 'on' && args.redis !== 'off') throw new Error('--redis must be on or off');

const ALL_NAMES = [...SOAK_REQUESTS.map((r) => r.name), NEW_CONVERSATION, BY_ID];
const ENDPOINTS = new Set(args.endpoints?.split(',') ?? ALL_NAMES);
for (const name of ENDPOINTS) if (!ALL_NAMES.includes(name)) throw new Error(`--endpoints: no endpoint ${name}; known: ${ALL_NAMES.join(', ')}`);
const ROTATION = SOAK_REQUESTS.filter((r) => ENDPOINTS.has(r.name));

const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef';
/** Every how many requests one is a chat of a new conversation, and one reads a stored response back. */
const NEW_CONVERSATION_EVERY = 7;
const BY_ID_EVERY = 5;

export interface HeapReading {
  atS: number;
  heapUsedBytes: number;
  rssBytes: number;
}

interface Phase {
  rssBytes: number;
  heapUsedBytes: number;
}

export interface SoakReport {
  method: string;
  machine: { cpus: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[]; node: string };
  settings: {
    durationS: number;
    concurrency: number;
    idleS: number;
    warmupS: number;
    redis: boolean;
    fromSource: boolean;
    /** The gateway's sticky.maxEntries when the run set it; its default (100,000) otherwise. */
    stickyMaxEntries: number | null;
  };
  requests: { total: number; failed: number; perSecond: number; byEndpoint: Record<string, { ok: number; failed: number }> };
  /** After the warm-up, before the measured load. */
  start: Phase;
  /** RSS: the process's high-water mark; heap: the largest reading after a forced GC during the load. */
  peak: Phase;
  /** After the load and --idle seconds of rest, then a forced GC. */
  end: Phase;
  /** end / start − 1, heap after GC. */
  heapGrowth: number;
  rssGrowth: number;
  /**
   * Entries the load added to the gateway's bounded caches (`sticky.maxEntries` each): a pin per new
   * conversation (with Redis, its local copy) and an owner per Responses API answer (every one has an id,
   * stored or not).
   */
  cacheEntriesAdded: { pins: number; responseOwners: number };
  /** Series on GET /metrics at the start and at the end. */
  metricsSeries: { start: number; end: number };
  samples: { atS: number; rssBytes: number }[];
  heapReadings: HeapReading[];
}

async function heapAfterGc(gateway: Service): Promise<{ heapUsedBytes: number; rssBytes: number }> {
  const res = await fetch(`${gateway.url}/admin/heap`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`POST /admin/heap answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { heapUsedBytes: number; rssBytes: number };
}

async function metricsSeries(gateway: Service): Promise<number> {
  const text = await fetch(`${gateway.url}/metrics`).then((res) => res.text());
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}

/** Steady load until `until` (ms, performance clock) or `maxRequests`; counts per endpoint. */
async function load(pool: Pool, until: number, maxRequests: number, counts: Record<string, { ok: number; failed: number }>): Promise<number> {
  let sent = 0;
  let rotation = 0;
  const storedIds: string[] = [];
  const next = (): SoakRequest => {
    const n = sent++;
    if ((n % NEW_CONVERSATION_EVERY === NEW_CONVERSATION_EVERY - 1 || ROTATION.length === 0) && ENDPOINTS.has(NEW_CONVERSATION)) return newConversationChat();
    if (n % BY_ID_EVERY === BY_ID_EVERY - 1 && storedIds.length > 0 && ENDPOINTS.has(BY_ID)) return responseById(storedIds[n % storedIds.length]!);
    return ROTATION[rotation++ % ROTATION.length]!;
  };
  const worker = async (): Promise<void> => {
    while (performance.now() < until && sent < maxRequests) {
      const req = next();
      const count = (counts[req.name] ??= { ok: 0, failed: 0 });
      try {
        const res = await pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body ?? null });
        const body = Buffer.from(await res.body.arrayBuffer());
        if (res.statusCode === 200) count.ok++;
        else count.failed++;
        if (req.name === 'responses-stored' && res.statusCode === 200) {
          storedIds[storedIds.length < 100 ? storedIds.length : sent % 100] = (JSON.parse(body.toString('utf8')) as { id: string }).id;
        }
      } catch {
        count.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return sent;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const loadAverageAtStart = loadavg();
  const started: (Service | undefined)[] = [];
  let redis: BenchRedis | undefined;
  try {
    redis = args.redis === 'on' ? await startRedisIfInstalled() : undefined;
    if (args.redis === 'on' && redis === undefined) throw new Error('--redis on needs redis-server on PATH (or pass --redis off)');
    const mock = await startMock({ fromSource: args.source, streamChunks: 20, chunkDelayMs: 0 });
    started.push(mock);
    const port = await getFreePort();
    const { config } = benchConfig({ port, upstream: mock.url, redisUrl: redis?.server.url });
    const gateway = await startGateway({
      config: { ...config, adminToken: ADMIN_TOKEN, ...(STICKY_MAX_ENTRIES === undefined ? {} : { sticky: { maxEntries: STICKY_MAX_ENTRIES } }) },
      port,
      redisUrl: redis?.server.url,
      nodeArgs: ['--expose-gc'],
      fromSource: args.source,
    });
    started.push(gateway);
    const pool = new Pool(gateway.url, { connections: CONCURRENCY, pipelining: 1 });
    const counts: Record<string, { ok: number; failed: number }> = {};
    const t0 = performance.now();
    const atS = (): number => Math.round((performance.now() - t0) / 100) / 10;
    const samples: { atS: number; rssBytes: number }[] = [];
    const heapReadings: HeapReading[] = [];
    const readHeap = async (): Promise<HeapReading> => {
      const reading = { atS: atS(), ...(await heapAfterGc(gateway)) };
      heapReadings.push({ atS: reading.atS, heapUsedBytes: reading.heapUsedBytes, rssBytes: reading.rssBytes });
      return reading;
    };
    const sampler = setInterval(() => samples.push({ atS: atS(), rssBytes: memory(gateway.pid).rss }), SAMPLE_S * 1000);

    if (WARMUP_S > 0) await load(pool, performance.now() + WARMUP_S * 1000, MAX_REQUESTS, {});
    const start = await readHeap();
    const seriesAtStart = await metricsSeries(gateway);
    let peakHeap = start.heapUsedBytes;
    const loadStarted = performance.now();
    const until = loadStarted + DURATION_S * 1000;
    // The heap is read after a forced GC every --heap-every seconds of the load too, to see a trend.
    let measuring = true;
    const heapWatch = (async () => {
      while (measuring) {
        await delay(Math.min(HEAP_EVERY_S * 1000, Math.max(0, until - performance.now())));
        if (!measuring || performance.now() >= until) break;
        peakHeap = Math.max(peakHeap, (await readHeap()).heapUsedBytes);
      }
    })();
    const total = await load(pool, until, MAX_REQUESTS, counts);
    const loadS = (performance.now() - loadStarted) / 1000;
    measuring = false;
    await heapWatch;
    peakHeap = Math.max(peakHeap, (await readHeap()).heapUsedBytes);
    await pool.close();
    if (IDLE_S > 0) await delay(IDLE_S * 1000);
    await heapAfterGc(gateway); // a second full GC: what the first only marked (weak references, finalizers)
    const end = await readHeap();
    const seriesAtEnd = await metricsSeries(gateway);
    clearInterval(sampler);
    const peakRss = memory(gateway.pid).hwm;

    const failed = Object.values(counts).reduce((sum, c) => sum + c.failed, 0);
    const report: SoakReport = {
      method:
        'RSS from /proc/PID/status (VmRSS; peak VmHWM); V8 heap used after a forced full GC (POST /admin/heap, gateway run with --expose-gc); ' +
        'start after the warm-up, end after the load and the idle time',
      machine: { cpus: cpus().length, loadAverageAtStart, loadAverageAtEnd: loadavg(), node: process.version },
      settings: { durationS: DURATION_S, concurrency: CONCURRENCY, idleS: IDLE_S, warmupS: WARMUP_S, redis: redis !== undefined, fromSource: args.source, stickyMaxEntries: STICKY_MAX_ENTRIES ?? null },
      requests: { total, failed, perSecond: Math.round(total / loadS), byEndpoint: counts },
      start: { rssBytes: start.rssBytes, heapUsedBytes: start.heapUsedBytes },
      peak: { rssBytes: Math.max(peakRss, ...samples.map((s) => s.rssBytes)), heapUsedBytes: peakHeap },
      end: { rssBytes: end.rssBytes, heapUsedBytes: end.heapUsedBytes },
      heapGrowth: end.heapUsedBytes / start.heapUsedBytes - 1,
      rssGrowth: end.rssBytes / start.rssBytes - 1,
      cacheEntriesAdded: { pins: counts[NEW_CONVERSATION]?.ok ?? 0, responseOwners: ['responses', 'responses-stream', 'responses-stored'].reduce((sum, name) => sum + (counts[name]?.ok ?? 0), 0) },
      metricsSeries: { start: seriesAtStart, end: seriesAtEnd },
      samples,
      heapReadings,
    };
    process.stderr.write(
      `soak: ${total} requests in ${loadS.toFixed(0)} s (${report.requests.perSecond}/s, ${failed} failed), c=${CONCURRENCY}, Redis ${redis === undefined ? 'off' : 'on'}\n` +
        `  heap after GC: start ${mib(start.heapUsedBytes)}, peak ${mib(peakHeap)}, end ${mib(end.heapUsedBytes)} (${(report.heapGrowth * 100).toFixed(1)}%)\n` +
        `  RSS: start ${mib(start.rssBytes)}, peak ${mib(report.peak.rssBytes)}, end ${mib(end.rssBytes)} (${(report.rssGrowth * 100).toFixed(1)}%)\n` +
        `  cache entries added: ${report.cacheEntriesAdded.pins} pins, ${report.cacheEntriesAdded.responseOwners} response owners\n` +
        `  metrics series: ${seriesAtStart} → ${seriesAtEnd}; load average ${loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')} → ${report.machine.loadAverageAtEnd.map((l) => l.toFixed(1)).join(' ')}\n`,
    );
    const line = JSON.stringify(report);
    if (args.out !== undefined) writeFileSync(args.out, `${line}\n`);
    process.stdout.write(`${line}\n`);
  } finally {
    await stopAll(started);
    await redis?.server.stop();
  }
}

await main();
