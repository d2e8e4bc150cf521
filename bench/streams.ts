// `npm run bench:streams`: holds 10,000 concurrent idle streamed chats through one gateway process and
// reports its memory. The mock upstream sends each stream's first event at once, then one every 10 s.
//   node --import tsx bench/streams.ts [--streams 10000] [--clients 2] [--hold 5]
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fdLimit, memory, openFds } from './lib/proc-stats.js';
import { ROOT, track, withFdLimit } from './lib/procs.js';
import { describeMachine, machineLine, stamp, writeResults } from './lib/report.js';
import { checkLine, streamsSummary, type StreamsResult } from './lib/results.js';
import { startStack } from './lib/stack.js';
import type { ClientReport } from './lib/stream-client.js';

const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '2' },
    hold: { type: 'string', default: '5' },
  },
});
const wanted = Number(args.streams);
const clientCount = Number(args.clients);
const holdS = Number(args.hold);
/** Every stream costs the gateway two sockets (client side and upstream side). */
const FD_LIMIT = 2 * wanted + 4_096;
const MiB = 2 ** 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Client {
  child: ChildProcess;
  report: ClientReport;
}

function startClient(origin: string, count: number, offset: number): Client {
  const script = ['--import', 'tsx', 'bench/lib/stream-client.ts', origin, String(count), String(offset)];
  const [cmd, argv] = withFdLimit(count + 1_024, process.execPath, script);
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

async function main(): Promise<void> {
  const machine = describeMachine();
  const startedAt = new Date();
  console.log(`Machine: ${machineLine(machine)}`);
  const stack = await startStack({
    mock: { chunkDelayMs: 10_000, streamChunks: 60, fdLimit: wanted + 4_096 },
    gatewayFdLimit: FD_LIMIT,
  });
  console.log(stack.redisLine);
  console.log(stack.metricsLine);
  const gwPid = stack.gateway.pid;
  const limit = fdLimit(gwPid);
  if (limit < FD_LIMIT) console.warn(`warning: the gateway may open only ${limit} files; ${wanted} streams need about ${FD_LIMIT}`);

  const clients: Client[] = [];
  let result: StreamsResult;
  try {
    await sleep(500);
    const idle = memory(gwPid);
    console.log(`gateway idle: RSS ${(idle.rss / MiB).toFixed(0)} MiB; opening ${wanted} streams from ${clientCount} client processes...`);
    const openedAt = Date.now();
    const per = Math.ceil(wanted / clientCount);
    for (let c = 0; c < clientCount; c++) {
      clients.push(startClient(stack.gateway.url, Math.min(per, wanted - c * per), c * per));
    }
    let last = -1;
    let stalledSince = Date.now();
    for (;;) {
      await sleep(1_000);
      const t = totals(clients);
      if (t.ready + t.failed >= wanted) break;
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
    console.log(`  ${t.ready} streams open after ${holdS} s (${t.ended} ended early, ${t.failed} failed${t.lastError ? `, last error: ${t.lastError}` : ''})`);

    for (const client of clients) client.child.send('close');
    await sleep(3_000);
    const afterFds = openFds(gwPid);
    result = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      redis: stack.redisLine,
      metrics: stack.metricsLine,
      streamsWanted: wanted,
      streamsOpen: t.ready - t.ended,
      failed: t.failed,
      lastError: t.lastError,
      openSeconds,
      gateway: {
        idleRssMiB: idle.rss / MiB,
        rssMiB: held.rss / MiB,
        peakRssMiB: held.hwm / MiB,
        perStreamKiB: (held.rss - idle.rss) / 1024 / Math.max(1, t.ready - t.ended),
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

  const pass = result.streamsOpen >= wanted && result.gateway.peakRssMiB < 1024;
  const check = checkLine({
    target: `${wanted.toLocaleString('en-US')} idle streams under 1 GiB RSS`,
    measured: `${result.gateway.peakRssMiB.toFixed(0)} MiB peak with ${result.streamsOpen} streams open`,
    pass,
  });
  const markdown = [
    `## Idle streams, ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${machineLine(machine)}`,
    `- ${result.redis}`,
    `- ${result.metrics}`,
    `- ${wanted} streamed chats opened through one gateway process from ${clientCount} client processes in ` +
      `${result.openSeconds.toFixed(1)} s; the mock sends each stream's first event at once, then one every 10 s. ` +
      `Memory sampled ${holdS} s after the last stream opened. Gateway descriptors ${result.gateway.openFdsAfterClose} ` +
      `3 s after the clients left; mock upstream RSS ${result.mockRssMiB.toFixed(0)} MiB.`,
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
