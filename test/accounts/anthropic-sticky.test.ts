// Claude Code's session stays on one account, so Anthropic's prompt cache stays warm: by its
// X-Claude-Code-Session-Id header, or by the body's metadata.user_id.
import { describe, expect, it } from 'vitest';
import { conversationOf } from '../../src/accounts/conversation.js';
import { STICKY_SOURCES } from '../../src/config/schema.js';
import { anthropicClient, anthropicConfig, ANTHROPIC_KEYS } from '../helpers/anthropic.js';
import { useGatewayWithMock } from '../helpers/gateway.js';

const running = useGatewayWithMock((url) => anthropicConfig(url), { apiKeys: [ANTHROPIC_KEYS.a, ANTHROPIC_KEYS.b] });
const MODEL = 'claude-haiku-4-5';

async function accountsOf(count: number, send: () => Promise<unknown>): Promise<Set<unknown>> {
  const from = running.mock.requests.length;
  for (let i = 0; i < count; i++) await send();
  return new Set(running.mock.requests.slice(from).map((r) => r.headers['x-api-key']));
}

describe('Claude Code sessions', () => {
  it('spread over both accounts when nothing names a session', async () => {
    const client = anthropicClient(running.gateway);
    expect((await accountsOf(4, () => client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }))).size).toBe(2);
  });

  it('stay on one account by X-Claude-Code-Session-Id, which also goes upstream', async () => {
    const client = anthropicClient(running.gateway);
    const headers = { 'x-claude-code-session-id': '5f0c8e2a-session-one' };
    const accounts = await accountsOf(4, () => client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { headers }));
    expect(accounts.size).toBe(1);
    expect(running.mock.requests.at(-1)!.headers['x-claude-code-session-id']).toBe('5f0c8e2a-session-one');
  });

  it('stay on one account by metadata.user_id, streamed or not', async () => {
    const client = anthropicClient(running.gateway);
    const metadata = { user_id: 'user_abc_account_def_session_0d9f' };
    let streamed = false;
    const accounts = await accountsOf(4, async () => {
      streamed = !streamed;
      const body = { model: MODEL, max_tokens: 5, metadata, messages: [{ role: 'user' as const, content: 'hi' }] };
      return streamed ? client.messages.stream(body).finalMessage() : client.messages.create(body);
    });
    expect(accounts.size).toBe(1);
  });
});

describe('the conversation of a request', () => {
  const body = (fields: Record<string, unknown>) => (field: string): unknown => (field === 'metadata.user_id' ? fields.user : fields[field]);

  it('is read from x-conversation-id, then Claude Code session header, then metadata.user_id, by default', () => {
    expect(STICKY_SOURCES.slice(0, 3)).toEqual(['x-conversation-id', 'x-claude-code-session-id', 'metadata.user_id']);
    const all = { 'x-conversation-id': 'conv', 'x-claude-code-session-id': 'session' };
    expect(conversationOf(all, STICKY_SOURCES, body({ user: 'user' }))).toBe('conv');
    expect(conversationOf({ 'x-claude-code-session-id': 'session' }, STICKY_SOURCES, body({ user: 'user' }))).toBe('session');
    expect(conversationOf({}, STICKY_SOURCES, body({ user: 'user', prompt_cache_key: 'pck' }))).toBe('user');
  });

  it('is not read from a source left out of sticky.sources', () => {
    expect(conversationOf({ 'x-claude-code-session-id': 'session' }, ['x-conversation-id'], body({ user: 'user' }))).toBeUndefined();
    expect(conversationOf({}, ['x-conversation-id', 'session_id'], body({ user: 'user' }))).toBeUndefined();
  });
});
