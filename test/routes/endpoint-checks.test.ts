// Every endpoint beyond chat and images refuses bad input itself, in OpenAI's envelope, before anything
// goes upstream: the same checks in the same order, read from each endpoint's description.
import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';

const EMBED_ONLY_KEY = 'gw-test-key-embed-only';

interface Envelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('checks of the endpoints beyond chat and images', () => {
  const running = useGatewayWithMock((url) =>
    testConfig(url, {
      clientKeys: [
        { name: 'team-alpha', key: CLIENT_KEY },
        { name: 'team-embed', key: EMBED_ONLY_KEY, models: ['text-embedding-3-small'] },
      ],
    }),
  );
  afterEach(() => {
    running.mock.requests.length = 0;
  });

  async function post(path: string, body: string | FormData, headers: Record<string, string> = {}): Promise<{ status: number; body: Envelope }> {
    const response = await fetch(`${running.gateway.baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as Envelope };
  }
  const json = (path: string, body: Record<string, unknown>) => post(path, JSON.stringify(body));

  async function refused(path: string, body: Record<string, unknown> | FormData, status: number, match: Partial<Envelope['error']>): Promise<void> {
    const answer = body instanceof FormData ? await post(path, body) : await json(path, body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(answer.body.error).toMatchObject(match);
    expect(running.mock.requests).toHaveLength(0);
  }

  function form(fields: Record<string, string>, file?: { name: string; bytes?: Buffer }): FormData {
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) data.append(name, value);
    if (file !== undefined) data.append(file.name, new Blob([file.bytes ?? Buffer.from('RIFF....WAVEfmt ')]), 'clip.wav');
    return data;
  }

  describe('POST /v1/embeddings', () => {
    it('refuses a model of another kind, an empty input, more than 2048 inputs and a bad encoding_format', async () => {
      await refused('/embeddings', { model: 'gpt-4o', input: 'hi' }, 400, { code: 'model_not_supported', param: 'model' });
      await refused('/embeddings', { model: 'text-embedding-3-small', input: '' }, 400, { param: 'input' });
      await refused('/embeddings', { model: 'text-embedding-3-small', input: [] }, 400, { param: 'input' });
      await refused('/embeddings', { model: 'text-embedding-3-small', input: Array(2049).fill('x') }, 400, { param: 'input' });
      await refused('/embeddings', { model: 'text-embedding-3-small', input: 'hi', encoding_format: 'hex' }, 400, { param: 'encoding_format' });
      await refused('/embeddings', { model: 'text-embedding-3-small', input: 'hi', dimensions: 0 }, 400, { param: 'dimensions' });
      await refused('/embeddings', { model: 'text-embedding-3-small', input: [[1, 2], 'x'] }, 400, { param: 'input' });
    });

    it('applies allow-lists: a key may embed with its model and nothing else', async () => {
      const sdk = running.gateway.client(EMBED_ONLY_KEY);
      await expect(sdk.embeddings.create({ model: 'text-embedding-3-large', input: 'hi' })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
      await expect(sdk.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
        OpenAI.PermissionDeniedError,
      );
      expect(running.mock.requests).toHaveLength(0);
    });
  });

  describe('POST /v1/completions', () => {
    it('takes completion models only, and checks the ranges the API fixes', async () => {
      await refused('/completions', { model: 'gpt-4o', prompt: 'hi' }, 400, { code: 'model_not_supported' });
      await refused('/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'hi', temperature: 3 }, 400, { param: 'temperature' });
      await refused('/completions', { model: 'gpt-3.5-turbo-instruct', prompt: { text: 'hi' } }, 400, { param: 'prompt' });
    });

    it('names the endpoint that serves a completion model sent to chat', async () => {
      const { status, body } = await json('/chat/completions', { model: 'gpt-3.5-turbo-instruct', messages: [{ role: 'user', content: 'hi' }] });
      expect(status).toBe(400);
      expect(body.error.message).toContain('/v1/completions');
    });
  });

  describe('POST /v1/moderations', () => {
    it('refuses a bad input, and a model of another kind', async () => {
      await refused('/moderations', { input: 42 }, 400, { param: 'input' });
      await refused('/moderations', { model: 'gpt-4o', input: 'hi' }, 400, { code: 'model_not_supported' });
    });

    it('counts a request without a model as the default moderation model, for allow-lists too, and sends it as it came', async () => {
      const embedOnly = await post('/moderations', JSON.stringify({ input: 'hi' }), { authorization: `Bearer ${EMBED_ONLY_KEY}` });
      expect(embedOnly.status).toBe(403);
      expect(embedOnly.body.error.message).toContain('omni-moderation-latest');
      expect(running.mock.requests).toHaveLength(0);
      const raw = '{"input":"hi",  "x":1}';
      await post('/moderations', raw);
      expect(running.mock.requests.map((r) => [r.path, r.rawBody])).toEqual([['/v1/moderations', raw]]);
    });
  });

  describe('POST /v1/audio/speech', () => {
    it('needs a voice and at most 4096 characters of input', async () => {
      await refused('/audio/speech', { model: 'tts-1', input: 'hi' }, 400, { param: 'voice' });
      await refused('/audio/speech', { model: 'tts-1', input: 'x'.repeat(4097), voice: 'alloy' }, 400, { param: 'input' });
      await refused('/audio/speech', { model: 'tts-1', input: 'hi', voice: 'alloy', speed: 9 }, 400, { param: 'speed' });
      await refused('/audio/speech', { model: 'whisper-1', input: 'hi', voice: 'alloy' }, 400, { code: 'model_not_supported' });
    });
  });

  describe('case variants of the fields the gateway checks', () => {
    it("refuses {\"MODEL\": ...} on moderations and responses/input_tokens, where model is optional", async () => {
      await refused('/moderations', { MODEL: 'gpt-4o', input: 'hi' }, 400, { code: 'invalid_json', param: 'model' });
      await refused('/responses/input_tokens', { MODEL: 'gpt-4o', input: 'hi' }, 400, { code: 'invalid_json', param: 'model' });
      // Raw, in the probe's exact bytes, from a key that may use only an embedding model.
      const probe = await post('/moderations', '{"MODEL": "omni-moderation-latest", "input": "hi"}', { authorization: `Bearer ${EMBED_ONLY_KEY}` });
      expect(probe.status).toBe(400);
      expect(probe.body.error.code).toBe('invalid_json');
      expect(running.mock.requests).toHaveLength(0);
    });

    it('refuses case variants of every checked field on every JSON endpoint, and lets other keys through', async () => {
      await refused('/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], Stream: true }, 400, { param: 'stream' });
      await refused('/embeddings', { model: 'text-embedding-3-small', Input: 'hi' }, 400, { param: 'input' });
      await refused('/responses', { model: 'gpt-4o', input: 'hi', Previous_Response_Id: 'resp_1' }, 400, { param: 'previous_response_id' });
      await refused('/responses', { model: 'gpt-4o', input: 'hi', PROMPT_CACHE_KEY: 'k' }, 400, { param: 'prompt_cache_key' });
      await refused('/audio/speech', { model: 'tts-1', input: 'hi', voice: 'alloy', ſtream_format: 'sse' }, 400, { param: 'stream_format' });
      const other = await json('/moderations', { model: 'omni-moderation-latest', input: 'hi', X_Custom: 1 });
      expect(other.status).toBe(200);
    });

    it('refuses MODEL, Model beside model, and model[] in a form', async () => {
      const file = { name: 'file' };
      await refused('/audio/transcriptions', form({ MODEL: 'whisper-1' }, file), 400, { code: 'invalid_multipart', param: 'model' });
      await refused('/audio/transcriptions', form({ model: 'whisper-1', Model: 'gpt-4o-transcribe' }, file), 400, { code: 'invalid_multipart' });
      await refused('/audio/transcriptions', form({ 'model[]': 'gpt-4o-transcribe', model: 'whisper-1' }, file), 400, { code: 'invalid_multipart', param: 'model' });
      await refused('/audio/transcriptions', form({ model: 'whisper-1' }, { name: 'FILE' }), 400, { code: 'invalid_multipart', param: 'file' });
      const arrays = form({ model: 'whisper-1', 'timestamp_granularities[]': 'word' }, file);
      arrays.append('timestamp_granularities[]', 'segment');
      expect((await post('/audio/transcriptions', arrays)).status).toBe(200);
    });
  });

  describe('multipart endpoints', () => {
    it('refuses a form without a file, with a model of another kind, or with a field sent twice', async () => {
      await refused('/audio/transcriptions', form({ model: 'whisper-1' }), 400, { code: 'missing_file', param: 'file' });
      await refused('/audio/transcriptions', form({ model: 'gpt-4o' }, { name: 'file' }), 400, { code: 'model_not_supported' });
      const twice = form({ model: 'whisper-1' }, { name: 'file' });
      twice.append('model', 'gpt-4o-transcribe');
      await refused('/audio/transcriptions', twice, 400, { code: 'invalid_multipart' });
      await refused('/audio/translations', form({ model: 'nope-1' }, { name: 'file' }), 404, { code: 'model_not_found' });
      await refused('/audio/transcriptions', form({ model: 'whisper-1', temperature: 'warm' }, { name: 'file' }), 400, { param: 'temperature' });
    });

    it('refuses a broken boundary, a form that never ends and a JSON body, in the envelope', async () => {
      const broken = '--abc\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--abc';
      for (const [body, type] of [
        [broken, 'multipart/form-data; boundary=abc'],
        [broken, 'multipart/form-data'],
        ['not a form at all', 'multipart/form-data; boundary=zzz'],
      ] as const) {
        const { status, body: answer } = await post('/audio/transcriptions', body, { 'content-type': type });
        expect(status).toBe(400);
        expect(answer.error.code).toBe('invalid_multipart');
      }
      await refused('/audio/transcriptions', { model: 'whisper-1' }, 415, { code: 'unsupported_media_type' });
      const chatAsForm = await post('/chat/completions', form({ model: 'gpt-4o' }));
      expect(chatAsForm.status).toBe(415);
      expect(running.mock.requests).toHaveLength(0);
    });

    it('applies the gpt-image-2 size and n rules of generations to image edits', async () => {
      const png = { name: 'image', bytes: Buffer.from('\x89PNG\r\n\x1a\n') };
      await refused('/images/edits', form({ model: 'gpt-image-2', prompt: 'add a hat', n: '2' }, png), 400, { param: 'n' });
      await refused('/images/edits', form({ model: 'gpt-image-2', prompt: 'add a hat', size: '1000x1000' }, png), 400, { param: 'size' });
      await refused('/images/edits', form({ model: 'gpt-image-2', prompt: '' }, png), 400, { param: 'prompt' });
      await refused('/images/edits', form({ model: 'gpt-4o', prompt: 'x' }, png), 400, { code: 'model_not_supported' });
      const sdk = running.gateway.client();
      await expect(
        sdk.images.edit({ model: 'gpt-image-2', prompt: 'add a hat', image: await toFile(png.bytes, 'otter.png'), size: '1000x1000' as '1024x1024' }),
      ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      expect(running.mock.requests).toHaveLength(0);
    });
  });

  describe('GET /v1/models/{id}', () => {
    it("answers OpenAI's model object for a model the key may use, and 404 for one it may not", async () => {
      const model = await running.gateway.client().models.retrieve('text-embedding-3-small');
      expect(model).toMatchObject({ id: 'text-embedding-3-small', object: 'model', owned_by: 'openai' });
      const embedOnly = running.gateway.client(EMBED_ONLY_KEY);
      await expect(embedOnly.models.retrieve('gpt-4o')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
      await expect(embedOnly.models.retrieve('no-such-model')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
      expect((await embedOnly.models.retrieve('text-embedding-3-small')).id).toBe('text-embedding-3-small');
    });
  });
});
