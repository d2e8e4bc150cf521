// GET /v1/models in Anthropic's format for a client that sends anthropic-version (Claude Code's gateway
// model discovery): the Messages models the key may use, paged as Anthropic pages them.
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { anthropicClient, anthropicConfig } from '../helpers/anthropic.js';
import { CLIENT_KEY, useGatewayWithMock } from '../helpers/gateway.js';

const TWO_MODELS_KEY = 'gw-test-key-two-claudes';
const running = useGatewayWithMock((url) =>
  anthropicConfig(url, {
    clientKeys: [
      { name: 'team-alpha', key: CLIENT_KEY },
      { name: 'team-two', key: TWO_MODELS_KEY, models: ['claude-haiku-4-5', 'claude-sonnet-4-5', 'gpt-4o'] },
    ],
  }),
);

describe("Anthropic's models list", () => {
  it('lists every Messages model of the catalog, with display names, through the SDK pages', async () => {
    const ids: string[] = [];
    for await (const model of anthropicClient(running.gateway).models.list({ limit: 5 })) ids.push(model.id);
    expect(ids).toHaveLength(16);
    expect(ids).toEqual(expect.arrayContaining(['claude-opus-4-5', 'claude-sonnet-4-5-20250929', 'claude-haiku-4-5']));
    expect(ids.some((id) => id.startsWith('gpt-'))).toBe(false);
    const model = await anthropicClient(running.gateway).models.retrieve('claude-sonnet-4-5');
    expect(model).toEqual({ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2023-11-14T22:13:20.000Z' });
  });

  it('lists only what the key may use, in the exact shape', async () => {
    const response = await fetch(`${running.gateway.url}/v1/models`, { headers: { 'x-api-key': TWO_MODELS_KEY, 'anthropic-version': '2023-06-01' } });
    expect(await response.json()).toEqual({
      data: [
        { type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2023-11-14T22:13:20.000Z' },
        { type: 'model', id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: '2023-11-14T22:13:20.000Z' },
      ],
      has_more: false,
      first_id: 'claude-sonnet-4-5',
      last_id: 'claude-haiku-4-5',
    });
  });

  it('pages by after_id and before_id', async () => {
    const page = async (query: string): Promise<{ data: { id: string }[]; has_more: boolean }> =>
      (await fetch(`${running.gateway.url}/v1/models?${query}`, { headers: { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' } })).json() as never;
    const first = await page('limit=2');
    expect(first.data.map((m) => m.id)).toEqual(['claude-opus-4-7', 'claude-opus-4-6']);
    expect(first.has_more).toBe(true);
    expect((await page('limit=2&after_id=claude-opus-4-6')).data.map((m) => m.id)).toEqual(['claude-sonnet-4-6', 'claude-opus-4-5']);
    const before = await page('limit=2&before_id=claude-opus-4-5');
    expect(before.data.map((m) => m.id)).toEqual(['claude-opus-4-6', 'claude-sonnet-4-6']);
    expect(before.has_more).toBe(true);
  });

  it('refuses a bad limit or an unknown cursor, and an unknown model, in Anthropic envelopes', async () => {
    const client = anthropicClient(running.gateway);
    await expect(client.models.list({ limit: 0 })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(client.models.list({ after_id: 'no-such-model' })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    for (const id of ['gpt-4o-not-here', 'gpt-4o']) {
      const missing = await client.models.retrieve(id).catch((e: unknown) => e);
      expect(missing, id).toBeInstanceOf(Anthropic.NotFoundError);
      expect((missing as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    }
  });

  it("answers OpenAI's list to a client that sends no anthropic-version", async () => {
    const list = (await (await fetch(`${running.gateway.url}/v1/models`, { headers: { authorization: `Bearer ${TWO_MODELS_KEY}` } })).json()) as { object: string; data: { id: string }[] };
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id)).toEqual(['gpt-4o', 'claude-sonnet-4-5', 'claude-haiku-4-5']);
  });
});
