// A child process of `npm run bench:streams`: opens COUNT streamed chats to ORIGIN, each on its own
// connection, at most CONCURRENCY still waiting for their first chunk at a time, and keeps them open.
//   node --import tsx bench/lib/stream-client.ts ORIGIN COUNT OFFSET [CONCURRENCY]
// With BENCH_CLIENT_KEY set, every stream sends that key and the bench's conversation id; else the config
// keys by turns, without one.
// Reports { ready, failed, ended, lastError } over IPC as streams get their first chunk and on "report";
// closes every stream and exits on "close".
import http from 'node:http';
import { requestHeaders, STREAM_BODY } from './requests.js';

export interface ClientReport {
  ready: number;
  failed: number;
  /** Streams that ended or broke after their first chunk (idle streams should not). */
  ended: number;
  lastError?: string;
}

const [origin = '', countArg = '0', offsetArg = '0', concurrencyArg = '200'] = process.argv.slice(2);
const count = Number(countArg);
const offset = Number(offsetArg);
const concurrency = Number(concurrencyArg);
const clientKey = process.env.BENCH_CLIENT_KEY;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const open: http.ClientRequest[] = [];
const report: ClientReport = { ready: 0, failed: 0, ended: 0 };
let started = 0;
let waiting = 0;
let closing = false;
let lastSent = 0;

function send(force = false): void {
  const now = Date.now();
  if (!force && now - lastSent < 250) return;
  lastSent = now;
  process.send?.(report);
}

function settle(outcome: 'ready' | 'failed', error?: string): void {
  waiting--;
  report[outcome]++;
  if (error !== undefined) report.lastError = error;
  openMore();
  send(report.ready + report.failed === count);
}

function openOne(i: number): void {
  waiting++;
  let first = true;
  const headers = { ...(clientKey === undefined ? requestHeaders(i, false) : requestHeaders(clientKey, true)), 'content-length': String(Buffer.byteLength(STREAM_BODY)) };
  const req = http.request(`${origin}/v1/chat/completions`, { method: 'POST', agent, headers }, (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      settle('failed', `status ${res.statusCode}`);
      first = false;
      return;
    }
    res.on('data', () => {
      if (!first) return;
      first = false;
      settle('ready');
    });
    res.once('close', () => {
      if (!closing && !first) report.ended++;
    });
  });
  req.once('error', (err) => {
    if (closing) return;
    if (first) {
      first = false;
      settle('failed', err.message);
    } else {
      report.ended++;
      report.lastError = err.message;
    }
  });
  req.end(STREAM_BODY);
  open.push(req);
}

function openMore(): void {
  while (waiting < concurrency && started < count) openOne(offset + started++);
}

process.on('message', (message) => {
  if (message === 'report') send(true);
  if (message !== 'close') return;
  closing = true;
  for (const req of open) req.destroy();
  process.disconnect();
});
openMore();
