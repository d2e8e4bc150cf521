// What the client error handler logs: Node's parser errors carry the request's raw bytes.
import { describe, expect, it } from 'vitest';
import { startGateway, testConfig } from '../helpers/gateway.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { parseRawResponse, rawExchange } from '../helpers/raw-http.js';

const SECRET_KEY = 'gw-secret-client-key-4f9a1c7e2b';

/** The ways a key can sit in a JSON log line: as text, as a Buffer's byte list, in base64 or hex. */
function traces(text: string): string[] {
  const bytes = Buffer.from(text);
  return [text, [...bytes].join(','), bytes.toString('base64').slice(0, 20), bytes.toString('hex')];
}

describe('client errors at debug level', () => {
  it.each([
    ['a bad header name', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SECRET_KEY}\r\nBad\u0001Name: 1\r\n\r\n`],
    ['a bad Content-Length', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SECRET_KEY}\r\nContent-Length: 1x\r\n\r\n{}`],
  ])('a malformed request (%s) carrying Authorization leaves no trace of the key in the log', async (_name, request) => {
    const mock = await startMockUpstream();
    const gateway = await startGateway(testConfig(mock.url, { logLevel: 'debug' }));
    try {
      const answer = parseRawResponse(await rawExchange(Number(new URL(gateway.url).port), request));
      expect(answer.status).toBe(400);
      expect(answer.head).toMatch(/^x-gateway-request-id: [0-9a-f-]{36}$/im);
      const logged = gateway.logs.lines.find((l) => l.msg === 'client error');
      expect(logged, 'the parser error is logged at debug level').toBeDefined();
      expect(logged!.err).toMatchObject({ code: expect.stringMatching(/^HPE_/) });
      const log = gateway.logs.text.join('\n');
      for (const trace of traces(SECRET_KEY)) expect(log).not.toContain(trace);
      expect(log).not.toContain('rawPacket');
    } finally {
      await gateway.close();
      await mock.close();
    }
  });
});
