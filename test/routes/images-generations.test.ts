import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

describe('POST /v1/images/generations', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(testConfig(mock.url));
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('generates an image through the official SDK, b64_json and usage included', async () => {
    const response = await gateway.client().images.generate({ model: 'gpt-image-2', prompt: 'A cute baby sea otter', n: 1, size: '1024x1024', quality: 'high' });
    expect(response.data?.[0]?.b64_json).toMatch(/^iVBOR/); // a PNG
    expect(response.usage).toMatchObject({ input_tokens: 5, output_tokens: 272 });
    expect(JSON.parse(mock.requests.at(-1)!.rawBody)).toEqual({ model: 'gpt-image-2', prompt: 'A cute baby sea otter', n: 1, size: '1024x1024', quality: 'high' });
  });

  it('passes fields it does not know through untouched', async () => {
    await gateway.client().images.generate({ model: 'gpt-image-2', prompt: 'otter', background: 'transparent', output_format: 'webp' } as never);
    expect(JSON.parse(mock.requests.at(-1)!.rawBody)).toMatchObject({ background: 'transparent', output_format: 'webp' });
  });
});
