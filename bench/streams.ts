// `npm run bench:streams`: holds 10,000 concurrent idle streamed chats through one gateway process and
// reports its memory. The mock upstream sends each stream's first event at once, then one every 10 s.
//   node --import tsx bench/streams.ts [--streams 10000] [--clients 2] [--hold 5] [--gateway-flags "--heapsnapshot-signal=SIGUSR2"]
// With --heap, the gateway also reports its memory after a forced full GC, idle and with the streams held
// (after the RSS was sampled); with --snapshot DIR, it writes a heap snapshot into DIR at both points too.
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { heapProbeFlags, readHeap, writeSnapshot } from './lib/heap-probe.js';
import { fdLimit, memory, openFds } from './lib/proc-stats.js';
import { descriptorKinds } from './lib/socket-kinds.js';
import { ROOT, track, withFdLimit } from './lib/procs.js';
import { describeMachine, machineLine, stamp, writeResults } from './lib/report.js';
import { checkLine, streamsCheck, type StreamsResult } from './lib/results.js';
import { streamsSummary } from './lib/results-markdown.js';
import { startStack } from './lib/stack.js';
import type { ClientReport } from './lib/stream-client.js';

const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '2' },
    hold: { type: 'string', default: '5' },
    'gateway-flags': { type: 'string', default: '' },
    heap: { type: 'boolean', default: false },
    snapshot: { type: 'string' },
  },
});
const wanted = Number(args.streams);
const clientCount = Number(args.clients);
const holdS = Number(args.hold);
const snapshotDir = args.snapshot;
const probing = args.heap || snapshotDir !== undefined;
const gatewayFlags = [...args['gateway-flags'].split(' ').filter((flag) => flag !== ''), ...(probing ? heapProbeFlags(snapshotDir) : [])];
/** Every stream costs the gateway two sockets (client side and upstream side). */
const FD_LIMIT = 2 * wanted + 4_096;
/** Descriptors kept free in the gateway for everything else (Redis, logs, a late health check). */
const FD_SPARE = 64;
const MiB = 2 ** 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Client {
  child: ChildProcess;
  report: ClientReport;
}

function startClient(origin: string, key: string, count: number, offset: number): Client {
  const script = ['--import', 'tsx', 'bench/lib/stream-client.ts', origin, String(count), String(offset)];
  const [cmd, argv] = withFdLimit(count + 1_024, process.execPath, script);
  const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, BENCH_CLIENT_KEY: key }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  track(child);
  const client: Client = { child, report: { ready: 0, failed: 0, ended: 0 } };
  child.on('message', (report) => {
    client.report = report as ClientReport;
  });
  return client;
}

function totals(clients: Client[]): ClientReport {
  const sum: ClientReport = { ready: 0, failed: 0, ended: 0 };
  for (const { report } of clients) {
    sum.ready += report.ready;
    sum.failed += report.failed;
    sum.ended += report.ended;
    sum.lastError = report.lastError ?? sum.lastError;
  }
  return sum;
}

async function probeHeap(phase: string, origin: string, pid: number, dir: string | undefined): Promise<void> {
  const heap = await readHeap(origin);
  const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
  console.log(
    `  ${phase}, after a full GC: RSS ${mib(heap.rssBytes)} MiB, heap used ${mib(heap.heapUsedBytes)}, external ${mib(heap.externalBytes)} ` +
      `(array buffers ${mib(heap.arrayBuffersBytes)}), malloced ${mib(heap.mallocedBytes)}` +
      (dir === undefined ? '' : `; snapshot ${await writeSnapshot(pid, dir)}`),
  );
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const startedAt = new Date();
  console.log(`Machine: ${machineLine(machine)}`);
  const stack = await startStack({
    mock: { chunkDelayMs: 10_000, streamChunks: 60, fdLimit: wanted + 4_096 },
    gatewayFdLimit: FD_LIMIT,
    gatewayNodeArgs: gatewayFlags,
  });
  console.log(stack.redisLine);
  console.log(stack.metricsLine);
  const gwPid = stack.gateway.pid;
  const limit = fdLimit(gwPid);
  const count = Math.min(wanted, Math.floor((limit - openFds(gwPid) - FD_SPARE) / 2));
  if (count < wanted) {
    console.warn(
      `warning: the gateway may open only ${limit} files and this user cannot raise the hard limit ` +
        `(root or CAP_SYS_RESOURCE can): opening ${count} streams and extrapolating to ${wanted}`,
    );
  }

  const clients: Client[] = [];
  let result: StreamsResult;
  try {
    await sleep(500);
    const idle = memory(gwPid);
    console.log(`gateway idle: RSS ${(idle.rss / MiB).toFixed(0)} MiB; opening ${count} streams from ${clientCount} client processes...`);
    if (probing) await probeHeap('idle', stack.gateway.url, gwPid, snapshotDir);
    const openedAt = Date.now();
    const per = Math.ceil(count / clientCount);
    for (let c = 0; c < clientCount; c++) {
      clients.push(startClient(stack.gateway.url, stack.gateway.key, Math.min(per, count - c * per), c * per));
    }
    let last = -1;
    let stalledSince = Date.now();
    for (;;) {
      await sleep(1_000);
      const t = totals(clients);
      if (t.ready + t.failed >= count) break;
      if (t.ready !== last) {
        last = t.ready;
        stalledSince = Date.now();
        console.log(`  ${t.ready} streams open, ${t.failed} failed, gateway RSS ${(memory(gwPid).rss / MiB).toFixed(0)} MiB`);
      } else if (Date.now() - stalledSince > 30_000) {
        console.warn(`  no progress for 30 s: measuring with ${t.ready} streams open`);
        break;
      }
    }
    const openSeconds = (Date.now() - openedAt) / 1000;
    await sleep(holdS * 1000); // let buffers and GC settle with every stream held open
    for (const client of clients) client.child.send('report');
    await sleep(300);
    const t = totals(clients);
    const held = memory(gwPid);
    const heldFds = openFds(gwPid);
    const mockRss = memory(stack.mock.pid).rss;
    if (probing) await probeHeap('held', stack.gateway.url, gwPid, snapshotDir);
    console.log(`  ${t.ready} streams open after ${holdS} s (${t.ended} ended early, ${t.failed} failed${t.lastError ? `, last error: ${t.lastError}` : ''})`);

    for (const client of clients) client.child.send('close');
    await sleep(3_000);
    const afterFds = openFds(gwPid);
    const port = (url: string): number => Number(new URL(url).port);
    const kinds = (): string =>
      Object.entries(descriptorKinds(gwPid, port(stack.gateway.url), port(stack.mock.url)))
        .map(([kind, n]) => `${n} ${kind}`)
        .join(', ');
    console.log(`  gateway descriptors 3 s after the clients left: ${kinds()}`);
    const open = t.ready - t.ended;
    const perStream = (held.rss - idle.rss) / Math.max(1, open);
    result = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      redis: stack.redisLine,
      metrics: stack.metricsLine,
      keys: `${stack.keysLine}; every stream sends that key and one X-Conversation-Id`,
      streamsWanted: wanted,
      streamsOpen: open,
      extrapolatedRssMiB: open >= wanted ? undefined : (idle.rss + perStream * wanted) / MiB,
      failed: t.failed,
      lastError: t.lastError,
      openSeconds,
      gateway: {
        idleRssMiB: idle.rss / MiB,
        rssMiB: held.rss / MiB,
        peakRssMiB: held.hwm / MiB,
        perStreamKiB: perStream / 1024,
        openFds: heldFds,
        fdLimit: limit,
        openFdsAfterClose: afterFds,
      },
      mockRssMiB: mockRss / MiB,
    };
  } finally {
    for (const client of clients) if (client.child.exitCode === null) client.child.kill('SIGKILL');
    await stack.stop();
  }

  const check = checkLine(streamsCheck(result));
  const markdown = [
    `## Idle streams, ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${machineLine(machine)}`,
    `- ${result.redis}`,
    `- ${result.metrics}`,
    ...(result.keys === undefined ? [] : [`- ${result.keys}`]),
    `- ${result.streamsOpen} streamed chats opened through one gateway process from ${clientCount} client processes in ` +
      `${result.openSeconds.toFixed(1)} s; the mock sends each stream's first event at once, then one every 10 s. ` +
      `Memory sampled ${holdS} s after the last stream opened. Gateway descriptors ${result.gateway.openFdsAfterClose} ` +
      `3 s after the clients left; mock upstream RSS ${result.mockRssMiB.toFixed(0)} MiB.` +
      (result.extrapolatedRssMiB === undefined
        ? ''
        : ` The gateway's open-file limit (${result.gateway.fdLimit}) allowed ${result.streamsOpen} streams, not ${wanted}: ` +
          `its RSS at ${wanted} is extrapolated from the measured per-stream cost.`),
    '',
    streamsSummary(result),
    '',
    '```',
    check,
    '```',
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  const files = writeResults('streams-latest', markdown, result, `streams-${stamp(startedAt)}`);
  console.log(`written: ${files.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
