// Malformed multipart forms against a gateway process: the probes that once stopped it, a valid form cut at
// every byte offset, fuzzed boundaries and headers, and clients that leave mid-form. The process must
// answer every one (in the envelope, never 5xx), log and count it, and keep serving.
import { connect } from 'node:net';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGatewayProcess, testConfig, type GatewayProcess } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { expectEnvelope } from '../helpers/raw-http.js';

const TRANSCRIPTIONS = '/v1/audio/transcriptions';
const AUTH = { authorization: `Bearer ${CLIENT_KEY}` };

/** The probe's body: a form whose file part never ends. */
const PROBE = '--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nRIFF';

/** A valid transcription form with boundary `B`, as a client would send it. */
const VALID = Buffer.from(
  '--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n' +
    '--B\r\nContent-Disposition: form-data; name="file"; filename="clip.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF....WAVEfmt \r\n' +
    '--B--\r\n',
);

describe('malformed forms against a gateway process', () => {
  let mock: MockUpstream;
  let gateway: GatewayProcess;
  // Keep-alive connections, so hundreds of requests cost a few sockets.
  const dispatcher = new Agent({ connections: 4 });

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGatewayProcess(testConfig(mock.url));
  });
  afterAll(async () => {
    await dispatcher.close();
    await gateway?.stop();
    await mock?.close();
  });

  async function send(body: Buffer | string, contentType = 'multipart/form-data; boundary=B', path = TRANSCRIPTIONS): Promise<{ status: number; text: string }> {
    const response = await request(`${gateway.url}${path}`, { method: 'POST', dispatcher, headers: { ...AUTH, 'content-type': contentType }, body });
    return { status: response.statusCode, text: await response.body.text() };
  }

  async function expectInvalidMultipart(body: Buffer | string, contentType?: string): Promise<string> {
    const answer = await send(body, contentType);
    expect(answer.status, answer.text).toBe(400);
    const envelope = expectEnvelope(answer.text);
    expect(envelope.error.code).toBe('invalid_multipart');
    return envelope.error.message;
  }

  async function expectServing(): Promise<void> {
    expect(gateway.child.exitCode).toBeNull();
    const health = await request(`${gateway.url}/healthz`, { dispatcher });
    await health.body.text();
    expect(health.statusCode).toBe(200);
    const served = await send(VALID);
    expect(served.status, served.text).toBe(200);
  }

  it("answers the probe's unclosed form 400 invalid_multipart, logs and counts it, and keeps serving", async () => {
    const from = gateway.output.length;
    expect(await expectInvalidMultipart(PROBE)).toContain("ends inside the part 'file'");
    const line = await gateway.waitForOutput(/"status":400.*"msg":"POST \/v1\/audio\/transcriptions"/, { from });
    expect(JSON.parse(line)).toMatchObject({ clientKey: 'team-alpha', status: 400 });
    const metrics = await request(`${gateway.url}/metrics`, { dispatcher });
    expect(await metrics.body.text()).toMatch(/gateway_requests_total\{[^}]*endpoint="\/v1\/audio\/transcriptions"[^}]*status="400"[^}]*\} [1-9]/);
    await expectServing();
  });

  it('answers a part without a name, the boundary named twice and the other probes 400, and keeps serving', async () => {
    expect(await expectInvalidMultipart('--B\r\nContent-Disposition: form-data; filename="a"\r\n\r\nRIFF\r\n--B--\r\n')).toContain('no name');
    const twoForms =
      '--X\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--X\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nRIFF\r\n--X--\r\n' +
      '--Y\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-transcribe\r\n--Y--\r\n';
    expect(await expectInvalidMultipart(twoForms, 'multipart/form-data; boundary=X; boundary=Y')).toContain("'boundary' is given twice");
    expect(await expectInvalidMultipart(Buffer.concat([VALID, Buffer.from('--B\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-transcribe\r\n--B--\r\n')]))).toContain(
      'after its closing delimiter',
    );
    expect(await expectInvalidMultipart(VALID.toString().replace('name="model"', 'name="model"; name="x"'))).toContain("'name' is given twice");
    const utf16 = Buffer.concat([
      Buffer.from('--B\r\nContent-Disposition: form-data; name="model"\r\nContent-Type: text/plain; charset=utf-16le\r\n\r\n'),
      Buffer.from('whisper-1', 'utf16le'),
      VALID.subarray(VALID.indexOf('\r\n--B\r\n')),
    ]);
    expect(await expectInvalidMultipart(utf16)).toContain('utf-16le');
    expect(mock.requests.filter((r) => r.path.includes('transcriptions')).every((r) => r.rawBytes?.equals(VALID))).toBe(true);
    await expectServing();
  });

  it('answers a valid form cut at every byte offset, and serves the whole form', async () => {
    for (let cut = 0; cut < VALID.length; cut++) {
      const answer = await send(VALID.subarray(0, cut));
      // Cut just after the closing delimiter, the form is whole: the final CRLF is optional.
      if (cut === VALID.length - 2) expect(answer.status, `cut at ${cut}: ${answer.text}`).toBe(200);
      else {
        expect(answer.status, `cut at ${cut}: ${answer.text}`).toBe(400);
        expect(expectEnvelope(answer.text).error.code).toBe('invalid_multipart');
      }
    }
    await expectServing();
  });

  it('answers fuzzed boundaries, headers and bytes in the envelope, never 5xx, and keeps serving', async () => {
    const boundary = fc.string({ unit: fc.constantFrom(...'aB0-_ "\'=;:\\\r\n\t\u00ff'.split('')), minLength: 0, maxLength: 12 });
    const headerLine = fc.oneof(
      fc.constant('Content-Disposition: form-data; name="model"'),
      fc.constant('Content-Disposition: form-data; name="file"; filename="a.wav"'),
      fc.constant('Content-Disposition: form-data'),
      fc.constant('Content-Type: text/plain; charset=utf-16le'),
      fc.constant('Content-Transfer-Encoding: base64'),
      fc.string({ unit: fc.constantFrom(...'Content-Disposition:form-data;name="model"\\ \r\n\t'.split('')), maxLength: 60 }),
    );
    const part = fc.record({ headers: fc.array(headerLine, { maxLength: 3 }), content: fc.string({ maxLength: 20 }) });
    const generated = fc.record({ boundary, parts: fc.array(part, { maxLength: 4 }), close: fc.boolean(), tail: fc.string({ maxLength: 8 }) });
    const mutated = fc.record({ at: fc.nat(VALID.length - 1), bytes: fc.uint8Array({ minLength: 0, maxLength: 4 }), drop: fc.nat(4) });
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(generated, mutated), async (input) => {
        let body: Buffer;
        let contentType = 'multipart/form-data; boundary=B';
        if ('boundary' in input) {
          const b = input.boundary;
          const text = input.parts.map((p) => `--${b}\r\n${p.headers.join('\r\n')}\r\n\r\n${p.content}\r\n`).join('') + (input.close ? `--${b}--` : '') + input.tail;
          body = Buffer.from(text, 'latin1');
          contentType = `multipart/form-data; boundary=${/^[\w-]+$/.test(b) ? b : JSON.stringify(b)}`.replace(/[\r\n]/g, '');
        } else {
          body = Buffer.concat([VALID.subarray(0, input.at), Buffer.from(input.bytes), VALID.subarray(input.at + input.drop)]);
        }
        const answer = await send(body, contentType);
        expect(answer.status, answer.text).toBeLessThan(500);
        if (answer.status !== 200) expectEnvelope(answer.text);
        answered++;
      }),
      { numRuns: 150, seed: 20 },
    );
    expect(answered).toBe(150);
    await expectServing();
  });

  it('logs a client that leaves mid-form and keeps serving', async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
        socket.on('error', reject);
        const head =
          `POST ${TRANSCRIPTIONS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nX-Request-Id: leaves-${i}\r\n` +
          `Content-Type: multipart/form-data; boundary=B\r\nContent-Length: ${VALID.length}\r\n\r\n`;
        // Half the form, then gone: the gateway reads the rest from nobody.
        socket.write(Buffer.concat([Buffer.from(head), VALID.subarray(0, VALID.length >> 1)]), () => {
          socket.destroy();
          resolve();
        });
      });
    }
    // Each is logged, as a client that left (499) or a body cut short (400).
    for (let i = 0; i < 20; i++) {
      const line = await gateway.waitForOutput(new RegExp(`"requestId":"leaves-${i}"`));
      expect([400, 499]).toContain((JSON.parse(line) as { status: number }).status);
    }
    await expectServing();
  });
});
