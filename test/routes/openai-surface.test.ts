// Embeddings, legacy completions, moderations, audio, image edits and model retrieval, driven by the official
// openai client through a listening gateway in front of the mock: answers relayed exactly, usage counted in
// gateway_tokens_total with the endpoint's path and written in the log line.
import OpenAI, { toFile } from 'openai';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_PNG_BASE64 } from '../../src/mock/upstream.js';
import { capturingFetch } from '../helpers/capturing-fetch.js';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';
import { mockSpeechAudio } from '../helpers/mock-upstream.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';

const UPSTREAM_KEY = 'sk-upstream-secret-a-0123456789';
/** Bytes that are not valid UTF-8, with CR LF and dashes inside: a form must still pass unchanged. 32,012 bytes: 3 s of audio to the mock. */
const AUDIO = Buffer.from([0xff, 0xfb, 0x90, 0x00, 0x80, 0xc3, 0x28, 0x0d, 0x0a, 0x2d, 0x2d, 0xfe, ...Array<number>(32_000).fill(7)]);
const PNG = Buffer.from(MOCK_PNG_BASE64, 'base64');

type Labels = { endpoint: string; model: string; type: string };

describe('the rest of the OpenAI surface through the gateway', () => {
  const running = useGatewayWithMock((url) => testConfig(url));
  const captured = capturingFetch();
  let gateway: OpenAI;
  /** The same calls straight to the mock, with the account's key: what the gateway must relay. */
  let direct: OpenAI;

  beforeAll(() => {
    gateway = running.gateway.client(CLIENT_KEY, { fetch: captured.fetch });
    direct = new OpenAI({ apiKey: UPSTREAM_KEY, baseURL: running.mock.url, maxRetries: 0 });
  });
  afterEach(() => {
    running.mock.requests.length = 0;
    captured.forms.length = 0;
  });

  const audio = () => toFile(AUDIO, 'clip.mp3', { type: 'audio/mpeg' });

  /** The gateway's token counter for one endpoint, model and type (of the one key and account), 0 when absent. */
  async function tokens(labels: Labels): Promise<number> {
    const text = await (await fetch(`${running.gateway.url}/metrics`)).text();
    return value(parsePrometheus(text), 'gateway_tokens_total', { ...labels, client_key: 'team-alpha', team: '', account: 'acct-a' }) ?? 0;
  }

  /** How much each counter grew while `run` ran. */
  async function counted(labels: Labels[], run: () => Promise<void>): Promise<number[]> {
    const before = await Promise.all(labels.map(tokens));
    await run();
    const after = await Promise.all(labels.map(tokens));
    return after.map((n, i) => n - before[i]!);
  }

  /** The log line of the last request to `path`. */
  function logLine(path: string): Record<string, unknown> | undefined {
    return running.gateway.logs.lines.filter((l) => l.msg === `POST ${path}`).at(-1);
  }

  /** The one multipart body the client sent equals, byte for byte, the one the upstream received. */
  function formRelayedExactly(): void {
    expect(captured.forms).toHaveLength(1);
    expect(running.mock.requests).toHaveLength(1);
    const received = running.mock.requests[0]!.rawBytes!;
    expect(received.includes(captured.forms[0]!.subarray(0, 64))).toBe(true);
    expect(received.equals(captured.forms[0]!)).toBe(true);
  }

  /** A JSON answer's text with the mock's per-request id and timestamp taken out. */
  const stable = (text: string): string => text.replace(/"id":"[a-z]+-mock-\d+"/, '"id":""').replace(/"created":\d+/, '"created":0');

  describe('POST /v1/embeddings', () => {
    it('relays the answer exactly and logs its prompt tokens', async () => {
      const params = { model: 'text-embedding-3-small', input: ['hello world', 'a b c'], dimensions: 8 };
      const text = await (await gateway.embeddings.create(params).asResponse()).text();
      expect(text).toBe(await (await direct.embeddings.create(params).asResponse()).text());
      expect(logLine('/v1/embeddings')).toMatchObject({ model: 'text-embedding-3-small', status: 200, tokens: { prompt: 5, completion: 0, total: 5 } });
    });
  });

  describe('POST /v1/completions', () => {
    it('relays a plain completion exactly and logs its prompt and completion tokens', async () => {
      const params = { model: 'gpt-3.5-turbo-instruct', prompt: 'Say this' };
      const text = await (await gateway.completions.create(params).asResponse()).text();
      expect(stable(text)).toBe(stable(await (await direct.completions.create(params).asResponse()).text()));
      expect(logLine('/v1/completions')).toMatchObject({ tokens: { prompt: 2, completion: 3, total: 5 } });
    });

    it('streams without the usage chunk the client did not ask for, and still logs the usage', async () => {
      const chunks: OpenAI.Completions.Completion[] = [];
      const stream = await gateway.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this', stream: true });
      for await (const chunk of stream) chunks.push(chunk);
      expect(running.mock.requests[0]!.body).toMatchObject({ stream_options: { include_usage: true } });
      expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe('Echo: Say this');
      // With usage turned on every chunk says `"usage":null`; the usage-only chunk (no choices) is gone.
      expect(chunks.every((c) => c.choices.length > 0 && (c.usage ?? undefined) === undefined)).toBe(true);
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
      expect(logLine('/v1/completions')).toMatchObject({ tokens: { prompt: 2, completion: 3, total: 5 } });
    });

    it('keeps the usage chunk for a client that asked for it', async () => {
      const chunks: OpenAI.Completions.Completion[] = [];
      const stream = await gateway.completions.create({
        model: 'gpt-3.5-turbo-instruct',
        prompt: 'Say this',
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } });
    });
  });

  describe('POST /v1/moderations', () => {
    it('relays an answer with a model exactly', async () => {
      const params = { model: 'text-moderation-latest', input: ['I will kill the process', 'hello'] };
      const text = await (await gateway.moderations.create(params).asResponse()).text();
      expect(stable(text)).toBe(stable(await (await direct.moderations.create(params).asResponse()).text()));
      expect(logLine('/v1/moderations')).toMatchObject({ model: 'text-moderation-latest', status: 200 });
    });

    it("sends a request without a model upstream as sent, and counts it as the catalog's default moderation model", async () => {
      const countedRequests = async (): Promise<number> => {
        const text = await (await fetch(`${running.gateway.url}/metrics`)).text();
        const labels = { endpoint: '/v1/moderations', model: 'omni-moderation-latest', client_key: 'team-alpha', team: '', account: 'acct-a', status: '200' };
        return value(parsePrometheus(text), 'gateway_requests_total', labels) ?? 0;
      };
      const before = await countedRequests();
      const { data, response } = await gateway.moderations.create({ input: 'hello there' }).withResponse();
      expect(data.model).toBe('omni-moderation-latest');
      const sent = running.mock.requests[0]!;
      expect(sent.body).toEqual({ input: 'hello there' });
      expect(response.headers.get('x-gateway-account')).toBe('acct-a');
      expect(await countedRequests()).toBe(before + 1);
      expect(logLine('/v1/moderations')).toMatchObject({ model: 'omni-moderation-latest', status: 200 });
    });
  });

  describe('POST /v1/audio/transcriptions and /v1/audio/translations', () => {
    it('forwards the form byte for byte, relays the answer exactly and logs the tokens gpt-4o-transcribe reports', async () => {
      const params = async () => ({ file: await audio(), model: 'gpt-4o-transcribe', prompt: 'two words' });
      const text = await (await gateway.audio.transcriptions.create(await params()).asResponse()).text();
      formRelayedExactly();
      expect(running.mock.requests[0]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(text).toBe(await (await direct.audio.transcriptions.create(await params()).asResponse()).text());
      expect(logLine('/v1/audio/transcriptions')).toMatchObject({ model: 'gpt-4o-transcribe', tokens: { prompt: 32, completion: 6, total: 38 } });
    });

    it("logs whisper's seconds, and relays its text format exactly", async () => {
      const json = await gateway.audio.transcriptions.create({ file: await audio(), model: 'whisper-1' });
      formRelayedExactly();
      expect(json.usage).toEqual({ type: 'duration', seconds: 3 });
      expect(logLine('/v1/audio/transcriptions')).toMatchObject({ model: 'whisper-1', tokens: { prompt: 0, completion: 0, seconds: 3 } });
      const text = await gateway.audio.transcriptions.create({ file: await audio(), model: 'whisper-1', response_format: 'text' });
      expect(text).toBe(await direct.audio.transcriptions.create({ file: await audio(), model: 'whisper-1', response_format: 'text' }));
    });

    it('relays a translation exactly, its form byte for byte', async () => {
      const text = await (await gateway.audio.translations.create({ file: await audio(), model: 'whisper-1' }).asResponse()).text();
      formRelayedExactly();
      expect(text).toBe(await (await direct.audio.translations.create({ file: await audio(), model: 'whisper-1' }).asResponse()).text());
      expect(logLine('/v1/audio/translations')).toMatchObject({ model: 'whisper-1', status: 200 });
    });

    it('relays a streamed transcription event by event, ending it at its done event, and logs its usage', async () => {
      const events: OpenAI.Audio.TranscriptionStreamEvent[] = [];
      const stream = await gateway.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe', stream: true });
      for await (const event of stream) events.push(event);
      formRelayedExactly();
      const expected: OpenAI.Audio.TranscriptionStreamEvent[] = [];
      for await (const event of await direct.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe', stream: true })) {
        expected.push(event);
      }
      expect(events).toEqual(expected);
      expect(events.at(-1)).toMatchObject({ type: 'transcript.text.done', usage: { input_tokens: 30, output_tokens: 6 } });
      expect(logLine('/v1/audio/transcriptions')).toMatchObject({ model: 'gpt-4o-transcribe', tokens: { prompt: 30, completion: 6 } });
    });

    it('times the first transcript delta of a stream as its first token', async () => {
      const stream = await gateway.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-mini-transcribe', stream: true });
      for await (const event of stream) expect(event.type).toMatch(/^transcript\.text\./);
      const exposition = parsePrometheus(await (await fetch(`${running.gateway.url}/metrics`)).text());
      expect(value(exposition, 'gateway_time_to_first_token_seconds_count', { model: 'gpt-4o-mini-transcribe' })).toBe(1);
    });

    it('ends a transcription stream cut before its done event with an error the SDK raises', async () => {
      running.mock.fault = () => ({ kind: 'cut-stream' });
      try {
        const stream = await gateway.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe', stream: true });
        const deltas: string[] = [];
        const failure = await (async () => {
          for await (const event of stream) if (event.type === 'transcript.text.delta') deltas.push(event.delta);
        })().catch((err: unknown) => err);
        expect(failure).toBeInstanceOf(OpenAI.APIError);
        expect(failure).toMatchObject({ message: expect.stringContaining('before it was complete') });
        expect(deltas.length).toBeGreaterThan(0);
      } finally {
        running.mock.fault = undefined;
      }
    });
  });

  describe('POST /v1/audio/speech', () => {
    it("relays the audio byte for byte with the upstream's content type", async () => {
      const response = await gateway.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there' });
      expect(response.headers.get('content-type')).toBe('audio/mpeg');
      expect(response.headers.get('x-gateway-account')).toBe('acct-a');
      expect(Buffer.from(await response.arrayBuffer()).equals(mockSpeechAudio({ input: 'Hello there', voice: 'alloy' }))).toBe(true);
      const wav = await gateway.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'ash', input: 'Hi', response_format: 'wav' });
      expect(wav.headers.get('content-type')).toBe('audio/wav');
      expect(Buffer.from(await wav.arrayBuffer()).equals(mockSpeechAudio({ input: 'Hi', voice: 'ash', response_format: 'wav' }))).toBe(true);
      expect(logLine('/v1/audio/speech')).toMatchObject({ model: 'gpt-4o-mini-tts', status: 200 });
    });

    it('relays speech streamed as SSE exactly, ending it where the upstream did', async () => {
      const params = { model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello', stream_format: 'sse' } as const;
      const response = await gateway.audio.speech.create(params);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await response.text()).toBe(await (await direct.audio.speech.create(params)).text());
    });
  });

  describe('POST /v1/images/edits', () => {
    it('forwards the form byte for byte and relays the answer exactly', async () => {
      const params = async () => ({ model: 'gpt-image-2', image: await toFile(PNG, 'a.png', { type: 'image/png' }), prompt: 'make it blue' });
      const text = await (await gateway.images.edit(await params()).asResponse()).text();
      formRelayedExactly();
      expect(stable(text)).toBe(stable(await (await direct.images.edit(await params()).asResponse()).text()));
      expect(logLine('/v1/images/edits')).toMatchObject({ model: 'gpt-image-2', tokens: { prompt: 13, completion: 272 } });
    });
  });

  describe("usage in gateway_tokens_total, by the endpoint's path", () => {
    const pair = (endpoint: string, model: string): Labels[] => [
      { endpoint, model, type: 'prompt' },
      { endpoint, model, type: 'completion' },
    ];

    it('counts embeddings prompt tokens', async () => {
      const counts = await counted(pair('/v1/embeddings', 'text-embedding-3-small'), async () => {
        await gateway.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'a b c'] });
      });
      expect(counts).toEqual([5, 0]);
    });

    it('counts completions, plain and streamed (the usage the gateway asked for itself)', async () => {
      const counts = await counted(pair('/v1/completions', 'gpt-3.5-turbo-instruct'), async () => {
        await gateway.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this' });
        for await (const chunk of await gateway.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this', stream: true })) {
          expect(chunk.choices).not.toHaveLength(0);
        }
      });
      expect(counts).toEqual([4, 6]);
    });

    it('counts the tokens gpt-4o-transcribe reports, plain and streamed', async () => {
      const counts = await counted(pair('/v1/audio/transcriptions', 'gpt-4o-transcribe'), async () => {
        await gateway.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe', prompt: 'two words' });
        for await (const event of await gateway.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe', stream: true })) {
          expect(event.type).toMatch(/^transcript\.text\./);
        }
      });
      expect(counts).toEqual([32 + 30, 6 + 6]);
    });

    it('counts the tokens of speech streamed as SSE', async () => {
      const counts = await counted(pair('/v1/audio/speech', 'gpt-4o-mini-tts'), async () => {
        await (await gateway.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello', stream_format: 'sse' })).text();
      });
      expect(counts).toEqual([5, 5]);
    });

    it('counts image edits', async () => {
      const counts = await counted(pair('/v1/images/edits', 'gpt-image-2'), async () => {
        await gateway.images.edit({ model: 'gpt-image-2', image: await toFile(PNG, 'a.png', { type: 'image/png' }), prompt: 'make it blue' });
      });
      expect(counts).toEqual([13, 272]);
    });
  });

  describe('GET /v1/models/{id}', () => {
    it("answers OpenAI's model object for every kind", async () => {
      for (const id of ['text-embedding-3-small', 'gpt-3.5-turbo-instruct', 'omni-moderation-latest', 'whisper-1', 'tts-1', 'gpt-image-2']) {
        expect(await gateway.models.retrieve(id)).toEqual({ id, object: 'model', created: expect.any(Number), owned_by: 'openai' });
      }
      expect(running.mock.requests).toHaveLength(0);
    });
  });
});
