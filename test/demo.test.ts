import { spawn } from 'node:child_process';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/gateway.js';

describe('npm run demo', () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo.ts'], { cwd: ROOT, env: { PATH: process.env.PATH, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const printed = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo printed no instructions:\n${output}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('x-gateway-account')) {
        clearTimeout(timer);
        resolve(output);
      }
    });
  });
  afterAll(() => {
    child.kill('SIGTERM');
  });

  it('prints a curl line that works with no keys of ours', async () => {
    const text = await printed;
    const url = /curl (\S+)/.exec(text)![1]!;
    const key = /Bearer (\S+?)"/.exec(text)![1]!;
    const body = /-d '(.+)'/.exec(text)![1]!;
    const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-conversation-id': 'demo-1' }, body });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Echo: Hello, gateway!');
  });

  it('prints a Claude Code line whose settings work with the Anthropic client', async () => {
    const text = await printed;
    const [, baseURL, authToken, model, prompt] = /ANTHROPIC_BASE_URL=(\S+) ANTHROPIC_AUTH_TOKEN=(\S+) ANTHROPIC_MODEL=(\S+) claude -p "([^"]+)"/.exec(text)!;
    const client = new Anthropic({ baseURL, authToken, apiKey: null, maxRetries: 0 });
    const message = await client.messages.stream({ model: model!, max_tokens: 1024, messages: [{ role: 'user', content: prompt! }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: Hello, Claude' }]);
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toContain(model);
  });

  it('prints an SDK snippet whose settings work', async () => {
    const text = await printed;
    const apiKey = /apiKey: '([^']+)'/.exec(text)![1]!;
    const baseURL = /baseURL: '([^']+)'/.exec(text)![1]!;
    const stream = await new OpenAI({ apiKey, baseURL }).chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Tell me a story' }] });
    let story = '';
    for await (const chunk of stream) story += chunk.choices[0]?.delta.content ?? '';
    expect(story).toBe('Echo: Tell me a story');
  });

  it('serves the Responses API, chained, and the other endpoints it names', async () => {
    const text = await printed;
    const client = new OpenAI({ apiKey: /apiKey: '([^']+)'/.exec(text)![1]!, baseURL: /baseURL: '([^']+)'/.exec(text)![1]! });
    const first = await client.responses.create({ model: 'gpt-5.4', input: 'Name three otters' });
    const next = await client.responses.create({ model: 'gpt-5.4', input: 'The smallest?', previous_response_id: first.id });
    expect(next.output_text).toBe('Echo: The smallest?');
    const { data } = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'otters' });
    expect(data[0]!.embedding.length).toBeGreaterThan(0);
    const models = (await client.models.list()).data.map((m) => m.id);
    expect(models).toEqual(expect.arrayContaining(['gpt-5.4', 'text-embedding-3-small', 'whisper-1', 'tts-1', 'omni-moderation-latest']));
  });
});
