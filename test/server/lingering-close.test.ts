import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lingerOnClose, type LingerLimits } from '../../src/server/lingering-close.js';
import { CLIENT_KEY, useGatewayWithMock } from '../helpers/gateway.js';
import { expectEnvelope, parseRawResponse } from '../helpers/raw-http.js';

const MiB = 1024 * 1024;
const UPLOAD_BYTES = 50 * MiB;
/** The client's pace: a 256 KiB write every 5 ms at most, about 50 MB/s, slower on a busy machine. */
const WRITE_BYTES = 256 * 1024;
const PACE_MS = 5;

interface Upload {
  /** What happened, in order: `answer` (a whole response read), `sent` (the whole body written), `error:<code>`, `close`. */
  events: string[];
  response: string;
  written: number;
  /** Bytes of the body written when the answer had been read. */
  writtenAtAnswer?: number;
}

interface UploadOptions {
  port: number;
  path?: string;
  framing: 'length' | 'chunked';
  bytes: number;
  /** Reads the answer only once the whole body is sent, as clients that write first and read after do. */
  readAfterSending?: boolean;
  /** Pauses between writes (default PACE_MS). */
  paceMs?: number;
}

/** Whether `text` holds a whole HTTP response (its head and a Content-Length body). */
function wholeResponse(text: string): boolean {
  const split = text.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, split));
  return split >= 0 && length !== null && text.length >= split + 4 + Number(length[1]);
}

/**
 * Uploads `bytes` at a steady pace on a raw connection, and keeps uploading whatever the server answers
 * (its half of the connection stays open until then, whatever the server ends), until the body is sent
 * or the connection fails. Resolves once the connection has closed.
 */
function slowUpload(options: UploadOptions): Promise<Upload> {
  const { port, framing, bytes, readAfterSending = false, paceMs = PACE_MS } = options;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const upload: Upload = { events: [], response: '', written: 0 };
    if (readAfterSending) socket.pause();
    socket.on('data', (chunk: Buffer) => {
      const before = wholeResponse(upload.response);
      upload.response += chunk.toString('latin1');
      if (before || !wholeResponse(upload.response)) return;
      upload.events.push('answer');
      upload.writtenAtAnswer = upload.written;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => upload.events.push(`error:${err.code ?? err.message}`));
    socket.on('close', () => {
      upload.events.push('close');
      resolve(upload);
    });
    const framingHeader = framing === 'length' ? `Content-Length: ${bytes}` : 'Transfer-Encoding: chunked';
    socket.write(
      `POST ${options.path ?? '/v1/audio/transcriptions'} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n` +
        `Content-Type: multipart/form-data; boundary=upload\r\n${framingHeader}\r\n\r\n`,
    );
    const piece = Buffer.alloc(WRITE_BYTES, 0x20);
    const chunkedPiece = Buffer.concat([Buffer.from(`${WRITE_BYTES.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    const writeNext = (): void => {
      if (socket.destroyed || !socket.writable) return;
      if (upload.written >= bytes) {
        const finished = (): void => {
          upload.events.push('sent');
          socket.end();
          if (readAfterSending) socket.resume();
        };
        if (framing === 'chunked') socket.write('0\r\n\r\n', finished);
        else finished();
        return;
      }
      upload.written += WRITE_BYTES;
      const next = (): void => void setTimeout(writeNext, paceMs);
      if (socket.write(framing === 'length' ? piece : chunkedPiece)) next();
      else socket.once('drain', next);
    };
    writeNext();
  });
}

/** Asserts the answer read is the gateway's 413 in the error envelope, announcing the close. */
function expect413(upload: Upload): void {
  const { status, head, body } = parseRawResponse(upload.response);
  expect(status, upload.response.slice(0, 300)).toBe(413);
  expect(head).toMatch(/\r\nconnection: close\r\n/i);
  expect(expectEnvelope(body).error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
}

/** The events up to the first failure: the answer must be among them. */
function beforeFailure(events: string[]): string[] {
  const failed = events.findIndex((e) => e.startsWith('error:') || e === 'close');
  return failed < 0 ? events : events.slice(0, failed);
}

describe('a body over bodyLimitBytes, still being uploaded, on a busy gateway', () => {
  // The default bodyLimitBytes (25 MiB): a 50 MB upload is over it.
  const running = useGatewayWithMock(undefined, { streamChunks: 40, chunkDelayMs: 5 });
  let port: number;
  let busy: { stop: () => Promise<number> };

  /** Keeps eight streamed chats in flight through the gateway until stopped; resolves with how many completed. */
  function keepBusy(): { stop: () => Promise<number> } {
    let stopping = false;
    let completed = 0;
    const client = running.gateway.client();
    const worker = async (): Promise<void> => {
      while (!stopping) {
        const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'busy' }], stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        expect(text).toBe('Echo: busy');
        completed++;
      }
    };
    const workers = Promise.all(Array.from({ length: 8 }, worker));
    return {
      stop: async () => {
        stopping = true;
        await workers;
        return completed;
      },
    };
  }

  beforeAll(() => {
    port = Number(new URL(running.gateway.url).port);
    busy = keepBusy();
  });
  afterAll(async () => {
    // Every request of the load went through while the uploads were refused.
    expect(await busy.stop()).toBeGreaterThan(0);
  });

  it('answers a declared 50 MB body with 413 that a client reading while it uploads reads before the connection closes', async () => {
    const upload = await slowUpload({ port, framing: 'length', bytes: UPLOAD_BYTES });
    expect(beforeFailure(upload.events)).toContain('answer');
    expect413(upload);
  });

  it('answers a chunked 50 MB body with 413 once it passes the limit, read by the client before the connection closes', async () => {
    const upload = await slowUpload({ port, framing: 'chunked', bytes: UPLOAD_BYTES });
    expect(beforeFailure(upload.events)).toContain('answer');
    expect413(upload);
  });

  it('reads and discards the rest of a 50 MB body, so a client that reads only after sending gets the 413', async () => {
    const upload = await slowUpload({ port, framing: 'length', bytes: UPLOAD_BYTES, readAfterSending: true });
    expect(upload.events).toEqual(['sent', 'answer', 'close']);
    expect413(upload);
  });

  it('does the same for a chunked body, and serves the next client as usual', async () => {
    const upload = await slowUpload({ port, framing: 'chunked', bytes: UPLOAD_BYTES, readAfterSending: true });
    expect(upload.events).toEqual(['sent', 'answer', 'close']);
    expect413(upload);
    const models = await running.gateway.client().models.list();
    expect(models.data.length).toBeGreaterThan(0);
  });
});

describe('lingerOnClose bounds', () => {
  let server: Server;
  let port: number;
  let limits: LingerLimits;
  beforeAll(async () => {
    server = createServer((req, res) => {
      lingerOnClose(req.socket, limits);
      res.writeHead(413, { connection: 'close', 'content-length': 2 });
      res.end('no');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('closes once it has discarded `bytes` more of the body, long before the body ends', async () => {
    limits = { timeMs: 600_000, bytes: 4 * MiB };
    const upload = await slowUpload({ port, path: '/', framing: 'length', bytes: 1024 * MiB, paceMs: 0 });
    expect(beforeFailure(upload.events)).toContain('answer');
    expect(upload.events).not.toContain('sent');
    expect(upload.written).toBeGreaterThanOrEqual(4 * MiB);
  });

  it('closes after `timeMs` when the client keeps sending', async () => {
    limits = { timeMs: 1_000, bytes: 1024 * MiB };
    const upload = await slowUpload({ port, path: '/', framing: 'chunked', bytes: 1024 * MiB, paceMs: 20 });
    expect(beforeFailure(upload.events)).toContain('answer');
    expect(upload.events).not.toContain('sent');
    // About fifty writes in that second; a connection closed at once would take two at most.
    expect(upload.written - (upload.writtenAtAnswer ?? upload.written)).toBeGreaterThanOrEqual(8 * WRITE_BYTES);
  });
});
