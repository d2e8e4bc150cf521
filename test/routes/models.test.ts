import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

describe('GET /v1/models and GET /healthz', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(
      testConfig(mock.url, {
        clientKeys: [
          { name: 'all', key: CLIENT_KEY },
          { name: 'few', key: 'few-key', models: ['gpt-4o-mini', 'gpt-image-2'] },
        ],
        models: [{ id: 'house-model', kind: 'chat' }],
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('lists every catalog model, config additions included, in OpenAI list format', async () => {
    const ids: string[] = [];
    for await (const model of gateway.client().models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toHaveLength(29);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o', 'chat-latest', 'Doubao-pro-32k', 'gpt-image-2', 'house-model']));
  });

  it('lists only the models a key may use', async () => {
    const page = await gateway.client('few-key').models.list();
    expect(page.data.map((m) => m.id).sort()).toEqual(['gpt-4o-mini', 'gpt-image-2']);
  });

  it('requires a key', async () => {
    expect((await fetch(`${gateway.baseURL}/models`)).status).toBe(401);
  });

  it('answers health checks without a key', async () => {
    const response = await fetch(`${gateway.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
