// A bare upstream whose answers a test scripts byte by byte, for what the mock upstream does not do:
// very large bodies, usage arriving in a later write, a stream cut inside an event, keys in odd encodings.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedUpstream {
  /** Base URL for the gateway's upstream config, such as "http://127.0.0.1:PORT/v1". */
  readonly url: string;
  /** The JSON bodies of the requests received, in order. */
  readonly requests: Record<string, unknown>[];
  close(): Promise<void>;
}

export type Script = (body: Record<string, unknown>, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

export async function startScriptedUpstream(script: Script): Promise<ScriptedUpstream> {
  const requests: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      requests.push(body);
      void Promise.resolve(script(body, res, req)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes `data` in pieces of `pieceBytes`, waiting whenever the socket asks to, then ends the response. */
export async function writeRespectingBackpressure(res: ServerResponse, data: Buffer, pieceBytes = 64 * 1024): Promise<void> {
  for (let at = 0; at < data.length && !res.destroyed; at += pieceBytes) {
    if (!res.write(data.subarray(at, at + pieceBytes))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done).off('close', done);
          resolve();
        };
        res.once('drain', done).once('close', done);
      });
    }
  }
  res.end();
}

/** One chat completion chunk as an SSE event. */
export function chatChunk(choices: string, usage = 'null'): string {
  return `data: {"id":"chatcmpl-s","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":${choices},"usage":${usage}}\n\n`;
}

export const contentChunk = (text: string): string => chatChunk(`[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]`);
export const finishChunk = (): string => chatChunk('[{"index":0,"delta":{},"finish_reason":"stop"}]');
export const usageChunk = (prompt: number, completion: number): string =>
  chatChunk('[]', `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}}`);
export const DONE_EVENT = 'data: [DONE]\n\n';
