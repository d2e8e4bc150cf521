// The mock's embeddings, legacy completions, moderations, audio and image edit endpoints, driven by
// the official openai client over real HTTP.
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mockEmbedding, mockSpeechAudio, MOCK_PNG_BASE64 } from '../../src/mock/upstream.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const KEY = 'sk-endpoints';
const CHUNKS = 4;
/** Bytes that are not valid UTF-8: a multipart body must still be recorded exactly. */
const AUDIO = Buffer.from([0xff, 0xfb, 0x90, 0x00, 0x80, 0xc3, 0x28, 0x0d, 0x0a, 0x2d, 0x2d, 0xfe, ...Array<number>(32_000).fill(7)]);

let mock: MockUpstream;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream({ apiKeys: [KEY], streamChunks: CHUNKS });
  client = new OpenAI({ apiKey: KEY, baseURL: mock.url, maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});
afterEach(() => {
  mock.requests.length = 0;
});

async function raw(path: string, body: string | Buffer, contentType = 'application/json') {
  const res = await request(`${mock.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': contentType },
    body,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('embeddings', () => {
  it('answers float and base64 (decoded by the SDK) with the same vectors, dimensions and usage', async () => {
    const float = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'a b c'], encoding_format: 'float', dimensions: 8 });
    expect(float.data.map((d) => d.index)).toEqual([0, 1]);
    expect(float.data[0]?.embedding).toEqual(mockEmbedding('hello world', 8));
    expect(float.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
    const norm = Math.hypot(...(float.data[1]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
    // The SDK asks for base64 by default and decodes it back to floats.
    const b64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world', dimensions: 8 });
    expect(mock.requests.at(-1)?.body).toMatchObject({ encoding_format: 'base64' });
    expect(b64.data[0]?.embedding).toEqual(mockEmbedding('hello world', 8));
  });

  it('defaults dimensions by model, counts token arrays, and refuses bad input', async () => {
    const large = await client.embeddings.create({ model: 'text-embedding-3-large', input: [[1, 2, 3]], encoding_format: 'float' });
    expect(large.data[0]?.embedding).toHaveLength(3072);
    expect(large.usage.prompt_tokens).toBe(3);
    expect((await raw('/embeddings', JSON.stringify({ model: 'x', input: '' }))).status).toBe(400);
    const ada = await raw('/embeddings', JSON.stringify({ model: 'text-embedding-ada-002', input: 'x', dimensions: 8 }));
    expect(JSON.parse(ada.text)).toMatchObject({ error: { param: 'dimensions' } });
  });
});

describe('legacy completions', () => {
  it('echoes the prompt with usage', async () => {
    const res = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this' });
    expect(res.choices).toEqual([{ text: 'Echo: Say this', index: 0, logprobs: null, finish_reason: 'stop' }]);
    expect(res.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  it('streams, with a usage chunk only when include_usage is asked', async () => {
    const collect = async (includeUsage: boolean) => {
      const stream = await client.completions.create({
        model: 'gpt-3.5-turbo-instruct',
        prompt: 'Say this',
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      return chunks;
    };
    const plain = await collect(false);
    expect(plain.map((c) => c.choices[0]?.text ?? '').join('')).toBe('Echo: Say this');
    expect(plain.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(plain.every((c) => c.usage === undefined)).toBe(true);
    const withUsage = await collect(true);
    expect(withUsage.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } });
    const text = (await raw('/completions', JSON.stringify({ model: 'm', prompt: 'x', stream: true }))).text;
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('moderations', () => {
  it('flags violence, defaults the model, and gives one result per string', async () => {
    const res = await client.moderations.create({ input: ['I will kill the process', 'hello'] });
    expect(res.model).toBe('omni-moderation-latest');
    expect(mock.requests.at(-1)?.body).not.toHaveProperty('model');
    expect(res.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(res.results[0]?.categories.violence).toBe(true);
    expect(res.results[0]?.category_applied_input_types?.violence).toEqual(['text']);
    const parts = await client.moderations.create({
      model: 'omni-moderation-latest',
      input: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }],
    });
    expect(parts.results).toHaveLength(1);
    expect(parts.results[0]?.category_applied_input_types?.violence).toEqual(['text', 'image']);
  });
});

describe('audio transcriptions and translations (multipart)', () => {
  const file = () => toFile(AUDIO, 'clip.mp3', { type: 'audio/mpeg' });

  it('reports token usage for gpt-4o-transcribe and records the multipart body byte for byte', async () => {
    const res = await client.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-transcribe', prompt: 'two words' });
    expect(res.text).toBe(`Mock transcript of clip.mp3 (${AUDIO.length} bytes).`);
    // 32,012 bytes = 3 s at 16,000 B/s: 30 audio tokens + 2 prompt words; output = 6 words.
    expect(res.usage).toEqual({
      type: 'tokens',
      input_tokens: 32,
      input_token_details: { text_tokens: 2, audio_tokens: 30 },
      output_tokens: 6,
      total_tokens: 38,
    });
    const rec = mock.requests.at(-1);
    expect(rec?.rawBytes?.includes(AUDIO)).toBe(true);
    expect(Buffer.from(rec?.rawBody ?? '', 'latin1').equals(rec?.rawBytes ?? Buffer.alloc(1))).toBe(true);
    expect(rec?.body).toBeUndefined();
  });

  it('reports duration for whisper-1, in text and verbose_json formats too', async () => {
    const json = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1' });
    expect(json.usage).toEqual({ type: 'duration', seconds: 3 });
    const text = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'text' });
    expect(text).toBe(`Mock transcript of clip.mp3 (${AUDIO.length} bytes).\n`);
    const verbose = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json' });
    expect(verbose).toMatchObject({ duration: 3, language: 'english', usage: { type: 'duration', seconds: 3 } });
    const translation = await client.audio.translations.create({ file: await file(), model: 'whisper-1' });
    expect(translation).toEqual({ text: `Mock translation of clip.mp3 (${AUDIO.length} bytes).` });
    await expect(
      client.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-transcribe', response_format: 'verbose_json' }),
    ).rejects.toMatchObject({ status: 400, param: 'response_format' });
  });

  it('streams transcript.text.delta events and a done event with usage', async () => {
    const stream = await client.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-mini-transcribe', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([...Array<string>(CHUNKS).fill('transcript.text.delta'), 'transcript.text.done']);
    const deltas = events.map((e) => (e.type === 'transcript.text.delta' ? e.delta : '')).join('');
    const done = events.at(-1);
    expect(done?.type === 'transcript.text.done' ? [done.text, done.usage?.output_tokens] : []).toEqual([deltas, 6]);
  });

  it('refuses a form without a file, a broken boundary, and a non-multipart body', async () => {
    const noFile = await raw('/audio/transcriptions', '--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--b--\r\n', 'multipart/form-data; boundary=b');
    expect(noFile.status).toBe(400);
    expect(JSON.parse(noFile.text)).toMatchObject({ error: { param: 'file', code: 'missing_required_parameter' } });
    const broken = await raw('/audio/transcriptions', '--other\r\nnot a form', 'multipart/form-data; boundary=b');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.text)).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect((await raw('/audio/transcriptions', '{}')).status).toBe(400);
  });
});

describe('audio speech', () => {
  it('answers deterministic audio bytes with the format content type, chunked', async () => {
    const res = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there' });
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(res.headers.get('content-length')).toBeNull();
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(mockSpeechAudio({ input: 'Hello there', voice: 'alloy' }))).toBe(true);
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('ID3');
    const wav = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'ash', input: 'Hi', response_format: 'wav' });
    expect(wav.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await wav.arrayBuffer()).equals(mockSpeechAudio({ input: 'Hi', voice: 'ash', response_format: 'wav' }))).toBe(true);
  });

  it('streams speech.audio.delta events with stream_format sse, and refuses a missing input', async () => {
    const res = await raw('/audio/speech', JSON.stringify({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello', stream_format: 'sse' }));
    const events = res.text.split('\n\n').filter((e) => e !== '').map((e) => JSON.parse(e.slice(6)) as { type: string; audio?: string });
    const audio = Buffer.concat(events.filter((e) => e.type === 'speech.audio.delta').map((e) => Buffer.from(e.audio ?? '', 'base64')));
    expect(audio.equals(mockSpeechAudio({ input: 'Hello', voice: 'alloy' }))).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'speech.audio.done', usage: { input_tokens: 5, output_tokens: 5, total_tokens: 10 } });
    expect((await raw('/audio/speech', JSON.stringify({ model: 'tts-1', voice: 'alloy' }))).status).toBe(400);
  });
});

describe('image edits (multipart)', () => {
  it('answers like generations, counting the input images', async () => {
    const png = Buffer.from(MOCK_PNG_BASE64, 'base64');
    const res = await client.images.edit({
      model: 'gpt-image-2',
      image: [await toFile(png, 'a.png', { type: 'image/png' }), await toFile(png, 'b.png', { type: 'image/png' })],
      prompt: 'make it blue',
      n: 2,
    });
    expect(res.data?.map((d) => d.b64_json)).toEqual([MOCK_PNG_BASE64, MOCK_PNG_BASE64]);
    expect(res.usage).toMatchObject({ input_tokens: 23, input_tokens_details: { image_tokens: 20, text_tokens: 3 }, output_tokens: 544 });
    expect(mock.requests.at(-1)?.rawBytes?.includes(png)).toBe(true);
    const noImage = await raw('/images/edits', '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--b--\r\n', 'multipart/form-data; boundary=b');
    expect(JSON.parse(noImage.text)).toMatchObject({ error: { param: 'image' } });
  });
});
