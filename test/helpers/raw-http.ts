// Raw HTTP for tests that must control every byte and header a client sends (the SDKs would fix them).
import { connect } from 'node:net';
import { expect } from 'vitest';
import { request } from 'undici';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** POSTs exactly `body` (or nothing) with exactly `headers`: no Content-Type is added unless given. */
export async function rawPost(url: string, body: string | Buffer | undefined, headers: Record<string, string> = {}): Promise<RawResponse> {
  const response = await request(url, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/**
 * Writes `data` on a fresh TCP connection and returns everything the server sent until it closed the
 * connection (or `timeoutMs` passed): for requests no HTTP client would send.
 */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${Buffer.concat(chunks).toString('latin1').slice(0, 500)}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer is fine: the bytes are what count
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(data);
  });
}

/** The status code and body of a raw HTTP/1.1 response text. */
export function parseRawResponse(raw: string): { status: number; head: string; body: string } {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  const split = raw.indexOf('\r\n\r\n');
  return { status: match === null ? 0 : Number(match[1]), head: split < 0 ? raw : raw.slice(0, split), body: split < 0 ? '' : raw.slice(split + 4) };
}

export interface Envelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The field itself when it is a string or null (so toEqual accepts it), a marker that fails otherwise. */
function nullableString(json: unknown, name: 'param' | 'code'): unknown {
  const value = (json as { error?: Record<string, unknown> } | null)?.error?.[name];
  return value === null || typeof value === 'string' ? value : `<${name} must be a string or null>`;
}

/** Asserts OpenAI's error envelope, exactly: these four fields with these types, nothing else. */
export function expectEnvelope(text: string): Envelope {
  let json: unknown;
  expect(() => (json = JSON.parse(text)), `not JSON: ${text.slice(0, 300)}`).not.toThrow();
  expect(json).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: nullableString(json, 'param'), code: nullableString(json, 'code') } });
  const envelope = json as Envelope;
  expect(envelope.error.message.length).toBeGreaterThan(0);
  return envelope;
}
