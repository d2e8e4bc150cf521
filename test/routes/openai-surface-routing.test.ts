// Embeddings, legacy completions, moderations, audio and image edits get what chat gets: allow-lists,
// conversation stickiness over several accounts, failover before the first byte, and each account's own
// organization, project and headers; all driven by the official openai client through a listening gateway.
import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { MOCK_PNG_BASE64 } from '../../src/mock/upstream.js';
import { capturingFetch } from '../helpers/capturing-fetch.js';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';
import { mockSpeechAudio, type RecordedRequest } from '../helpers/mock-upstream.js';

const FEW_MODELS_KEY = 'gw-test-key-few-models';
const NAMES = ['a', 'b', 'c'] as const;
const ACCOUNTS = NAMES.map((n) => ({
  name: `acct-${n}`,
  apiKey: `sk-upstream-${n}-0123456789abcdef`,
  organization: `org-surface-${n}-0001`,
  project: `proj_surface_${n}_0001`,
  headers: { 'Api-Key': `azure-key-${n}-5f0c1d2e3b4a`, 'x-region': `region-${n}` },
}));
const AUDIO = Buffer.from([0xff, 0xfb, 0x90, 0x00, 0x0d, 0x0a, 0x2d, 0x2d, ...Array<number>(20_000).fill(3)]);
const PNG = Buffer.from(MOCK_PNG_BASE64, 'base64');

const accountByKey = new Map(ACCOUNTS.map((a) => [`Bearer ${a.apiKey}`, a]));
/** The account whose key an upstream request carried. */
const accountOf = (req: RecordedRequest): string | undefined => accountByKey.get(String(req.headers.authorization))?.name;

function threeAccounts(url: string) {
  return testConfig(url, {
    clientKeys: [
      { name: 'team-alpha', key: CLIENT_KEY },
      { name: 'team-few', key: FEW_MODELS_KEY, models: ['text-embedding-3-small', 'whisper-1', 'tts-1', 'text-moderation-latest'] },
    ],
    upstreams: [{ name: 'mock', baseUrl: url, models: ['*'], accounts: ACCOUNTS }],
  });
}

/** One call of each endpoint, answering the account that served it (`x-gateway-account`). */
type Call = (client: OpenAI) => Promise<string | null>;
const audio = () => toFile(AUDIO, 'clip.mp3', { type: 'audio/mpeg' });
const CALLS: Record<string, Call> = {
  '/v1/embeddings': async (c) => (await c.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' }).withResponse()).response.headers.get('x-gateway-account'),
  '/v1/completions': async (c) => (await c.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'hi' }).withResponse()).response.headers.get('x-gateway-account'),
  '/v1/moderations': async (c) => (await c.moderations.create({ input: 'hello' }).withResponse()).response.headers.get('x-gateway-account'),
  '/v1/audio/transcriptions': async (c) =>
    (await c.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe' }).withResponse()).response.headers.get('x-gateway-account'),
  '/v1/audio/translations': async (c) =>
    (await c.audio.translations.create({ file: await audio(), model: 'whisper-1' }).withResponse()).response.headers.get('x-gateway-account'),
  '/v1/audio/speech': async (c) => {
    const response = await c.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi' });
    await response.arrayBuffer();
    return response.headers.get('x-gateway-account');
  },
  '/v1/images/edits': async (c) =>
    (await c.images.edit({ model: 'gpt-image-2', image: await toFile(PNG, 'a.png', { type: 'image/png' }), prompt: 'blue' }).withResponse()).response.headers.get(
      'x-gateway-account',
    ),
};

describe('allow-lists, stickiness and account settings on every endpoint', () => {
  const running = useGatewayWithMock(threeAccounts);
  afterEach(() => {
    running.mock.requests.length = 0;
  });

  it('refuses a model outside the allow-list with 403 before anything goes upstream, and serves the allowed ones', async () => {
    const few = running.gateway.client(FEW_MODELS_KEY);
    const refusals: (() => Promise<unknown>)[] = [
      () => few.embeddings.create({ model: 'text-embedding-3-large', input: 'hi' }),
      () => few.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'hi' }),
      // Without a model the request counts as omni-moderation-latest, which this key may not use.
      () => few.moderations.create({ input: 'hi' }),
      async () => few.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe' }),
      async () => few.audio.translations.create({ file: await audio(), model: 'gpt-4o-mini-transcribe' }),
      () => few.audio.speech.create({ model: 'tts-1-hd', voice: 'alloy', input: 'hi' }),
      async () => few.images.edit({ model: 'gpt-image-2', image: await toFile(PNG, 'a.png'), prompt: 'blue' }),
    ];
    for (const refusal of refusals) {
      const error = await refusal().then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(error).toMatchObject({ status: 403, code: 'model_not_allowed' });
    }
    expect(running.mock.requests).toHaveLength(0);

    await few.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
    await few.moderations.create({ model: 'text-moderation-latest', input: 'hi' });
    await few.audio.transcriptions.create({ file: await audio(), model: 'whisper-1' });
    await (await few.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi' })).arrayBuffer();
    expect(running.mock.requests).toHaveLength(4);
  });

  it("answers a model outside the key's allow-list as not found, so it is not revealed", async () => {
    const few = running.gateway.client(FEW_MODELS_KEY);
    expect(await few.models.retrieve('whisper-1')).toMatchObject({ id: 'whisper-1', object: 'model' });
    for (const id of ['text-embedding-3-large', 'gpt-4o-transcribe', 'no-such-model']) {
      const error = await few.models.retrieve(id).then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({ code: 'model_not_found' });
    }
  });

  it('keeps one conversation on one account over several requests, on each endpoint', async () => {
    for (const [path, call] of Object.entries(CALLS)) {
      const client = running.gateway.client(CLIENT_KEY, { defaultHeaders: { 'X-Conversation-Id': `conv-${path}` } });
      const served = new Set<string | null>();
      for (let i = 0; i < 6; i++) served.add(await call(client));
      expect([...served], path).toHaveLength(1);
      expect(ACCOUNTS.map((a) => a.name), path).toContain([...served][0]);
      expect(new Set(running.mock.requests.map(accountOf)), path).toEqual(served);
      running.mock.requests.length = 0;
    }
  });

  it('spreads requests that carry no conversation over the accounts', async () => {
    const client = running.gateway.client();
    const served = new Set<string | null>();
    for (let i = 0; i < 12; i++) served.add(await CALLS['/v1/audio/transcriptions']!(client));
    expect(served.size).toBeGreaterThan(1);
  });

  it("sends each account's organization, project and headers upstream on every endpoint, and none of them back to the client", async () => {
    for (const [path, call] of Object.entries(CALLS)) {
      const served = await call(running.gateway.client());
      const account = ACCOUNTS.find((a) => a.name === served)!;
      expect(running.mock.requests, path).toHaveLength(1);
      expect(running.mock.requests[0]!.headers, path).toMatchObject({
        authorization: `Bearer ${account.apiKey}`,
        'openai-organization': account.organization,
        'openai-project': account.project,
        'api-key': account.headers['Api-Key'],
        'x-region': account.headers['x-region'],
      });
      running.mock.requests.length = 0;
    }
    const logs = running.gateway.logs.text.join('\n');
    const metrics = await (await fetch(`${running.gateway.url}/metrics`)).text();
    for (const account of ACCOUNTS) {
      for (const secret of [account.apiKey, account.organization, account.project, account.headers['Api-Key']]) {
        expect(logs).not.toContain(secret);
        expect(metrics).not.toContain(secret);
      }
    }
  });
});

describe('failover before the first byte on the multipart and audio endpoints', () => {
  const running = useGatewayWithMock(threeAccounts);
  const captured = capturingFetch();
  afterEach(() => {
    running.mock.fault = undefined;
    running.mock.requests.length = 0;
    captured.forms.length = 0;
  });

  /** A client in one conversation, and the account that conversation is pinned to. */
  async function pinned(conversation: string, call: Call): Promise<{ client: OpenAI; account: string }> {
    const client = running.gateway.client(CLIENT_KEY, { fetch: captured.fetch, defaultHeaders: { 'X-Conversation-Id': conversation } });
    const account = await call(client);
    running.mock.requests.length = 0;
    captured.forms.length = 0;
    return { client, account: account! };
  }

  it("moves a transcription off an account that answers 500, the same form's bytes reaching the next one", async () => {
    const { client, account } = await pinned('conv-failover-transcribe', CALLS['/v1/audio/transcriptions']!);
    running.mock.fault = (req) => (accountOf(req) === account ? { kind: 'status', status: 500 } : undefined);
    const { data, response } = await client.audio.transcriptions.create({ file: await audio(), model: 'gpt-4o-transcribe' }).withResponse();
    expect(data.text).toBe(`Mock transcript of clip.mp3 (${AUDIO.length} bytes).`);
    const other = response.headers.get('x-gateway-account');
    expect(other).not.toBe(account);
    expect(running.mock.requests.map(accountOf)).toEqual([account, other]);
    expect(captured.forms).toHaveLength(1);
    for (const attempt of running.mock.requests) expect(attempt.rawBytes!.equals(captured.forms[0]!)).toBe(true);
    // The conversation now stays where it went.
    running.mock.fault = undefined;
    expect(await CALLS['/v1/audio/transcriptions']!(client)).toBe(other);
  });

  it('moves an image edit off an account that answers 503', async () => {
    const { client, account } = await pinned('conv-failover-edit', CALLS['/v1/images/edits']!);
    running.mock.fault = (req) => (accountOf(req) === account ? { kind: 'status', status: 503 } : undefined);
    const served = await CALLS['/v1/images/edits']!(client);
    expect(served).not.toBe(account);
    expect(running.mock.requests.map(accountOf)).toEqual([account, served]);
    for (const attempt of running.mock.requests) expect(attempt.rawBytes!.equals(captured.forms[0]!)).toBe(true);
  });

  it('moves speech off an account that answers 503, relaying the audio of the next one byte for byte', async () => {
    const { client, account } = await pinned('conv-failover-speech', CALLS['/v1/audio/speech']!);
    running.mock.fault = (req) => (accountOf(req) === account ? { kind: 'status', status: 503 } : undefined);
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there' });
    expect(response.headers.get('x-gateway-account')).not.toBe(account);
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await response.arrayBuffer()).equals(mockSpeechAudio({ input: 'Hello there', voice: 'alloy' }))).toBe(true);
    expect(running.mock.requests.map((r) => r.rawBody)).toEqual([running.mock.requests[1]!.rawBody, running.mock.requests[1]!.rawBody]);
  });
});
