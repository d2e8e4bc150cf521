import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';

describe('GET /v1/models and GET /healthz', () => {
  const running = useGatewayWithMock((url) =>
      testConfig(url, {
        clientKeys: [
          { name: 'all', key: CLIENT_KEY },
          { name: 'few', key: 'few-key', models: ['gpt-4o-mini', 'gpt-image-2'] },
        ],
        models: [{ id: 'house-model', kind: 'chat' }],
      }),
    );

  it('lists every catalog model, config additions included, in OpenAI list format', async () => {
    const ids: string[] = [];
    for await (const model of running.gateway.client().models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toHaveLength(29 + 12 + 16);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o', 'chat-latest', 'Doubao-pro-32k', 'gpt-image-2', 'house-model']));
  });

  it('lists only the models a key may use', async () => {
    const page = await running.gateway.client('few-key').models.list();
    expect(page.data.map((m) => m.id).sort()).toEqual(['gpt-4o-mini', 'gpt-image-2']);
  });

  it('requires a key', async () => {
    expect((await fetch(`${running.gateway.baseURL}/models`)).status).toBe(401);
  });

  it('answers health checks without a key', async () => {
    const response = await fetch(`${running.gateway.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
