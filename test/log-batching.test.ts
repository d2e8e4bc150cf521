// Batched standard output for the request log: lines stay whole and in order, arrive within LOG_BATCH_MS,
// and nothing held back is lost when the process exits, however it exits.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchedLogStream, LOG_BATCH_MS } from '../src/logging.js';
import { CLIENT_KEY, ROOT, startGatewayProcess, testConfig, type GatewayProcess } from './helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from './helpers/mock-upstream.js';

function writer() {
  const writes: string[] = [];
  let synced = 0;
  return {
    writes,
    synced: () => synced,
    write(text: string) {
      writes.push(text);
    },
    flushSync() {
      synced++;
    },
  };
}

describe('BatchedLogStream', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands lines on in one batch once it holds batchChars characters, whole and in order', () => {
    const out = writer();
    const stream = new BatchedLogStream(out, 30, 1_000);
    stream.write('{"n":1,"msg":"first"}\n');
    expect(out.writes).toEqual([]);
    stream.write('{"n":2,"msg":"second"}\n');
    expect(out.writes).toEqual(['{"n":1,"msg":"first"}\n{"n":2,"msg":"second"}\n']);
    stream.write('{"n":3}\n');
    expect(out.writes).toHaveLength(1);
  });

  it('hands on a quiet batch after batchMs, and arms no timer while nothing waits', () => {
    vi.useFakeTimers();
    const out = writer();
    const stream = new BatchedLogStream(out, 4096, LOG_BATCH_MS);
    stream.write('a\n');
    stream.write('b\n');
    vi.advanceTimersByTime(LOG_BATCH_MS - 1);
    expect(out.writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out.writes).toEqual(['a\nb\n']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('writes everything held back on flushSync', () => {
    const out = writer();
    const stream = new BatchedLogStream(out, 4096, 60_000);
    stream.write('last words\n');
    stream.flushSync();
    expect(out.writes).toEqual(['last words\n']);
    expect(out.synced()).toBe(1);
  });
});

describe('batched standard output of a process', () => {
  it('still writes the lines of a process that dies of an uncaught exception', () => {
    const script = [
      "import { batchedStdout } from './src/logging.ts';",
      "batchedStdout().write('{\"msg\":\"before the crash\"}\\n');",
      "setTimeout(() => { throw new Error('boom'); }, 0);",
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('boom');
    expect(result.stdout).toBe('{"msg":"before the crash"}\n');
  });

  describe('the gateway process', () => {
    let mock: MockUpstream;
    let gateway: GatewayProcess;
    afterEach(async () => {
      await gateway?.stop('SIGKILL');
      await mock?.close();
    });

    it('logs a request within moments, and every line held back when it stops on SIGTERM', async () => {
      mock = await startMockUpstream();
      gateway = await startGatewayProcess(testConfig(mock.url));
      const post = (): Promise<Response> =>
        fetch(`${gateway.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
        });
      expect((await post()).status).toBe(200);
      await gateway.waitForOutput(/"msg":"POST \/v1\/chat\/completions"/, { timeoutMs: 5_000 });

      const from = gateway.output.length;
      for (let i = 0; i < 3; i++) expect((await post()).status).toBe(200);
      expect(await gateway.stop('SIGTERM')).toBe(0);
      const lines = gateway.output.slice(from).filter((line) => line.includes('"msg":"POST /v1/chat/completions"'));
      expect(lines).toHaveLength(3);
      expect(gateway.output.at(-1)).toContain('gateway stopped');
    });
  });
});
