// The mock upstream as its own process (src/mock/main.ts), for tests whose own process must not carry
// the upstream's load or its sockets: handle counting, load tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './gateway.js';

export interface MockProcess {
  /** Base URL for the gateway's upstream config, e.g. "http://127.0.0.1:PORT/v1". */
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `src/mock/main.ts --port 0 ...args` (or another script that prints the same line, such as
 * test/helpers/gated-mock.ts) and resolves once it prints its URL. Its standard input stays open.
 */
export async function startMockProcess(args: string[] = ['--port', '0'], script = 'src/mock/main.ts'): Promise<MockProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mock upstream did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`mock upstream exited before listening:\n${output}`));
    });
  });
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
