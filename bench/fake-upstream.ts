// A precomputed fake upstream: answers every request with bytes recorded once from the project's mock, so
// that the upstream's own work in a bench run is reading a request and writing a buffer. It runs in its own
// process, and its CPU is reported apart from the proxies'.
//   node bench/fake-upstream.ts <answers.json> [port]
import { readFileSync } from 'node:fs';
import http from 'node:http';

interface RecordedAnswer {
  status: number;
  contentType: string;
  /** base64 */
  body: string;
  /** Sent with chunked framing, as an upstream sends a stream. */
  chunked: boolean;
}

const [file, portArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: fake-upstream <answers.json> [port]');
const recorded = JSON.parse(readFileSync(file, 'utf8')) as Record<string, RecordedAnswer>;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}
const answers = new Map<string, Answer>();
for (const [key, a] of Object.entries(recorded)) {
  const body = Buffer.from(a.body, 'base64');
  const headers: Record<string, string> = { 'content-type': a.contentType };
  if (a.chunked) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(body.length);
  answers.set(key, { status: a.status, headers, body });
}
const notFound = Buffer.from('{"error":{"message":"not recorded","type":"invalid_request_error","param":null,"code":null}}');
const STREAM_FLAG = Buffer.from('"stream":true');

/** The answer's key: method, path, and whether the body asks for a stream. */
function keyOf(method: string, path: string, body: Buffer): string {
  return `${method} ${path}${body.includes(STREAM_FLAG) ? ' stream' : ''}`;
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const answer = answers.get(keyOf(req.method ?? 'GET', path, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(notFound.length) }).end(notFound);
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`fake upstream listening on ${typeof address === 'object' && address !== null ? address.port : address}`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
