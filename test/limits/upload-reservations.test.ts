// An uploaded form (audio, an image) is not prompt text: its size does not become a token reservation that
// would shut its key out while it runs.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const KEY = 'gw-key-upload-reservations';
const MID_MINUTE = Date.UTC(2026, 10, 30, 12, 0, 30);

describe('token reservations of uploads', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(
      testConfig(mock.url, { clientKeys: [{ name: 'uploads', key: KEY, limits: { tokensPerMinute: 5_000, reserveTokens: 100 } }] }),
      {},
      { clock: () => MID_MINUTE },
    );
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('admits a chat while a 1 MiB audio upload of the same key is still running', async () => {
    // The upstream holds the transcription's answer until the chat is over.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    mock.fault = (req) => (req.path.includes('/audio/') ? { kind: 'hold-last-chunk', release: released } : undefined);
    const client = new OpenAI({ apiKey: KEY, baseURL: gateway.baseURL, maxRetries: 0 });
    const audio = await toFile(Buffer.alloc(1024 * 1024, 1), 'call.wav');
    let transcribed = false;
    const transcription = client.audio.transcriptions.create({ model: 'whisper-1', file: audio }).finally(() => (transcribed = true));
    // Forwarded upstream, so admitted: its reservation is held.
    await vi.waitFor(() => expect(mock.requests.some((r) => r.path.includes('/audio/'))).toBe(true));
    // Were the upload's 1 MiB read as a prompt, its reservation (262,244 tokens) would have spent the window.
    const chat = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.choices[0]!.message.content).toBe('Echo: hi');
    expect(transcribed).toBe(false);
    release();
    expect((await transcription).text.length).toBeGreaterThan(0);
    mock.fault = undefined;
  });
});
