// GET /admin/prices: every catalog model's prices in force and where they come from, behind the admin token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { priceDatabase } from '../../src/spend/price-database.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';

const ADMIN_TOKEN = 'admin-token-0123456789';

interface PriceRow {
  model: string;
  pool: string | null;
  source: string;
  matched?: string;
  dataDate?: string;
  pricing: (Record<string, number> & { tiers: Record<string, number>[] }) | null;
}

function config(overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  const base = testConfig('http://127.0.0.1:1/v1');
  return {
    ...base,
    adminToken: ADMIN_TOKEN,
    models: [
      { id: 'gpt-4.1', kind: 'chat', ownedBy: 'openai', pricing: { inputPerMillion: 1, outputPerMillion: 3 } },
      { id: 'house-model', kind: 'chat' },
    ],
    upstreams: [{ ...base.upstreams[0]!, pricing: { 'gpt-5': { inputPerMillion: 0.5, outputPerMillion: 4 } } }],
    ...overrides,
  };
}

describe('GET /admin/prices', () => {
  let gateway: RunningGateway;
  const get = (token?: string): Promise<Response> =>
    fetch(`${gateway.url}/admin/prices`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const rows = async (): Promise<Map<string, PriceRow>> => {
    const body = (await (await get(ADMIN_TOKEN)).json()) as { data: PriceRow[] };
    return new Map(body.data.map((r) => [r.model, r]));
  };

  beforeAll(async () => {
    gateway = await startGateway(config());
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('refuses a request without the admin token, with a wrong one or with a client key', async () => {
    for (const token of [undefined, 'wrong-token', CLIENT_KEY, `${ADMIN_TOKEN}x`]) {
      const response = await get(token);
      expect(response.status, String(token)).toBe(401);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
  });

  it('lists every catalog model with its prices in force and their source', async () => {
    const response = await get(ADMIN_TOKEN);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; priceDatabase: unknown; data: PriceRow[] };
    expect(body.object).toBe('list');
    expect(body.priceDatabase).toEqual({ package: '@pydantic/genai-prices', version: priceDatabase.version, dataDate: priceDatabase.dataDate });
    const byModel = new Map(body.data.map((r) => [r.model, r]));
    expect(byModel.get('gpt-4o')).toEqual({
      model: 'gpt-4o',
      pool: 'mock',
      source: 'price-database',
      matched: 'openai/gpt-4o',
      dataDate: priceDatabase.dataDate,
      pricing: {
        inputPerMillion: 2.5,
        cachedInputPerMillion: 1.25,
        cacheWritePerMillion: 2.5,
        cacheWrite1hPerMillion: 2.5,
        outputPerMillion: 10,
        imageInputPerMillion: 2.5,
        audioInputPerMillion: 2.5,
        perImage: 0,
        perAudioMinute: 0,
        tiers: [],
      },
    });
    expect(byModel.get('gpt-4.1')).toMatchObject({ source: 'config', pricing: { inputPerMillion: 1, cachedInputPerMillion: 1, outputPerMillion: 3 } });
    expect(byModel.get('gpt-4.1')).not.toHaveProperty('dataDate');
    expect(byModel.get('gpt-5')).toMatchObject({ source: 'config', pool: 'mock', pricing: { inputPerMillion: 0.5, outputPerMillion: 4 } });
    expect(byModel.get('house-model')).toEqual({ model: 'house-model', pool: 'mock', source: 'none', pricing: null });
    expect(byModel.get('Doubao-pro-32k')).toMatchObject({ source: 'none', pricing: null });
    expect(byModel.get('gpt-5.4')!.pricing!.tiers).toEqual([expect.objectContaining({ aboveInputTokens: 271_999, inputPerMillion: 5, cachedInputPerMillion: 0.5, outputPerMillion: 22.5 })]);
    expect(byModel.get('whisper-1')!.pricing).toMatchObject({ perAudioMinute: 0.006 });
  });

  it('shows the prices of a reloaded config', async () => {
    gateway.app.services.reload(parseConfig(config({ models: [{ id: 'gpt-4o', kind: 'chat', ownedBy: 'openai', pricing: { inputPerMillion: 9 } }] }), {}));
    const byModel = await rows();
    expect(byModel.get('gpt-4o')).toMatchObject({ source: 'config', pricing: { inputPerMillion: 9, outputPerMillion: 0 } });
    expect(byModel.get('gpt-4.1')).toMatchObject({ source: 'price-database', pricing: { inputPerMillion: 2, outputPerMillion: 8 } });
  });
});

describe('GET /admin/prices without an admin token configured', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway(testConfig('http://127.0.0.1:1/v1'));
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('answers 404, as an unknown URL does', async () => {
    const response = await fetch(`${gateway.url}/admin/prices`, { headers: { authorization: 'Bearer anything' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});
