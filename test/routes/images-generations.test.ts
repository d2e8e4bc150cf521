import { describe, expect, it } from 'vitest';
import { useGatewayWithMock } from '../helpers/gateway.js';

describe('POST /v1/images/generations', () => {
  const running = useGatewayWithMock();

  it('generates an image through the official SDK, b64_json and usage included', async () => {
    const response = await running.gateway.client().images.generate({ model: 'gpt-image-2', prompt: 'A cute baby sea otter', n: 1, size: '1024x1024', quality: 'high' });
    expect(response.data?.[0]?.b64_json).toMatch(/^iVBOR/); // a PNG
    expect(response.usage).toMatchObject({ input_tokens: 5, output_tokens: 272 });
    expect(JSON.parse(running.mock.requests.at(-1)!.rawBody)).toEqual({ model: 'gpt-image-2', prompt: 'A cute baby sea otter', n: 1, size: '1024x1024', quality: 'high' });
  });

  it('passes fields it does not know through untouched', async () => {
    await running.gateway.client().images.generate({ model: 'gpt-image-2', prompt: 'otter', background: 'transparent', output_format: 'webp' } as never);
    expect(JSON.parse(running.mock.requests.at(-1)!.rawBody)).toMatchObject({ background: 'transparent', output_format: 'webp' });
  });
});
