// A mock upstream process whose streams all hold their last chunk until a line "release" arrives on
// standard input: lets a test know that every stream is open at the same moment. Prints its URL as
// src/mock/main.ts does. Usage: node --import tsx test/helpers/gated-mock.ts STREAM_CHUNKS CHUNK_DELAY_MS
import { createMockUpstream } from '../../src/mock/upstream.js';

const [streamChunks = 20, chunkDelayMs = 0] = process.argv.slice(2).map(Number);
let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
const mock = await createMockUpstream({
  host: '127.0.0.1',
  port: 0,
  streamChunks,
  chunkDelayMs,
  recordRequests: false,
  fault: () => ({ kind: 'hold-last-chunk', release: released }),
});
console.log(`mock upstream listening on ${mock.url}`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (line: string) => {
  if (line.includes('release')) release();
});
const stop = (): void => void mock.close().then(() => process.exit(0));
process.stdin.on('end', stop);
process.once('SIGTERM', stop);
