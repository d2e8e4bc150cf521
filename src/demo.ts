import { buildApp } from './app.js';
import { readCatalogFile } from './catalog/catalog.js';
import { parseConfig } from './config/load.js';
import { createMockUpstream } from './mock/upstream.js';

/**
 * `npm run demo`: the gateway in front of the built-in mock upstream, so it can be tried with no
 * provider keys at all. Two mock accounts show load balancing and sticky conversations.
 */
const DEMO_KEY = 'sk-gateway-demo';

async function demo(): Promise<void> {
  const mock = await createMockUpstream({ host: '127.0.0.1', port: 0, streamChunks: 8, chunkDelayMs: 40, recordRequests: false });
  const port = Number(process.env.PORT ?? 8080);
  const config = parseConfig(
    {
      listen: { host: '127.0.0.1', port },
      logLevel: 'info',
      clientKeys: [{ name: 'demo', key: DEMO_KEY }],
      upstreams: [
        // Claude models go to the mock as an Anthropic upstream: keys as x-api-key, the Messages API.
        {
          name: 'mock-anthropic',
          api: 'anthropic',
          baseUrl: mock.url,
          models: readCatalogFile()
            .filter((m) => m.kind === 'messages')
            .map((m) => m.id),
          accounts: [
            { name: 'mock-claude-a', apiKey: 'sk-ant-mock-account-a' },
            { name: 'mock-claude-b', apiKey: 'sk-ant-mock-account-b' },
          ],
        },
        {
          name: 'mock',
          baseUrl: mock.url,
          models: ['*'],
          accounts: [
            { name: 'mock-a', apiKey: 'sk-mock-account-a', weight: 2 },
            { name: 'mock-b', apiKey: 'sk-mock-account-b' },
          ],
        },
      ],
    },
    { ...process.env, PORT: String(port) },
  );
  const app = await buildApp(config);
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}/v1`;

  process.stdout.write(`
AI gateway demo: gateway on ${base}, mock upstream on ${mock.url}. Ctrl-C stops both.

Try it with curl:

  curl ${base}/chat/completions \\
    -H "Authorization: Bearer ${DEMO_KEY}" -H "Content-Type: application/json" \\
    -H "X-Conversation-Id: demo-1" -i \\
    -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, gateway!"}]}'

Or with the official SDK (npm install openai), streaming:

  import OpenAI from 'openai';
  const client = new OpenAI({ apiKey: '${DEMO_KEY}', baseURL: '${base}' });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Tell me a story' }],
  });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');

The Responses API (what Codex and the Agents SDK speak), chained to the account that made the first answer:

  const first = await client.responses.create({ model: 'gpt-5.4', input: 'Name three otters' });
  const next = await client.responses.create({ model: 'gpt-5.4', input: 'The smallest?', previous_response_id: first.id });

Claude Code through the gateway (Anthropic's Messages API; the mock answers as Claude would):

  ANTHROPIC_BASE_URL=${base.slice(0, -'/v1'.length)} ANTHROPIC_AUTH_TOKEN=${DEMO_KEY} ANTHROPIC_MODEL=claude-sonnet-4-5 claude -p "Hello, Claude"

Every other endpoint is served too: embeddings, legacy completions, moderations, audio transcriptions,
translations and speech, image generations and edits, and GET ${base}/models.

  const { data } = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'otters' });

The x-gateway-account response header names the mock account that answered; requests with the same
X-Conversation-Id stay on one account, and the mock then reports cached prompt tokens.

`);

  const stop = async (): Promise<void> => {
    await app.close();
    await mock.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

demo().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
