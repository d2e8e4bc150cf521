// CLI for the mock upstream:
//   node dist/mock/main.js [--port 9000] [--host 127.0.0.1] [--stream-chunks 20] [--chunk-delay-ms 0]
import { parseArgs } from 'node:util';
import { createMockUpstream } from './upstream.js';

const USAGE =
  'usage: node dist/mock/main.js [--port 9000] [--host 127.0.0.1] [--stream-chunks 20] [--chunk-delay-ms 0]';

function intOption(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'stream-chunks': { type: 'string' },
        'chunk-delay-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help === true) {
    console.log(USAGE);
    return;
  }

  let port: number, streamChunks: number, chunkDelayMs: number;
  try {
    port = intOption('port', values.port, 9000, 0);
    streamChunks = intOption('stream-chunks', values['stream-chunks'], 20, 1);
    chunkDelayMs = intOption('chunk-delay-ms', values['chunk-delay-ms'], 0, 0);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }

  const mock = await createMockUpstream({
    host: values.host ?? '127.0.0.1',
    port,
    streamChunks,
    chunkDelayMs,
    // A long-running process (demo, benchmarks) must not accumulate every request in memory.
    recordRequests: false,
  });
  console.log(`mock upstream listening on ${mock.url}`);

  const shutdown = (): void => {
    mock.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
