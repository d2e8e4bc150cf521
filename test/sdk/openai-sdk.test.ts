// The official openai client, in the release this run asks for (openai 6 by default, openai 7 with
// OPENAI_SDK_PACKAGE=openai7), against a real listening gateway: each kind of call, and each error the
// gateway answers mapped to the client's own error class.
import OpenAI from 'openai';
import { VERSION } from 'openai/version';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, testConfig, useGatewayWithMock } from '../helpers/gateway.js';
import { OPENAI_SDK_PACKAGES, openaiSdkAlias, openaiSdkPackage } from '../helpers/openai-sdk.js';

const LIMITED_KEY = 'gw-test-key-sdk-limited';

const running = useGatewayWithMock((url) =>
  testConfig(url, {
    clientKeys: [
      { name: 'team-alpha', key: CLIENT_KEY },
      { name: 'team-limited', key: LIMITED_KEY, limits: { requestsPerMinute: 1 } },
    ],
  }),
);

const hello: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hello there' }];

describe('the openai client this run uses', () => {
  it('is the major release OPENAI_SDK_PACKAGE asks for', () => {
    expect(Number(VERSION.split('.')[0])).toBe(OPENAI_SDK_PACKAGES[openaiSdkPackage()]);
  });

  it('is chosen by name, and an unknown name is refused', () => {
    expect(openaiSdkAlias({})).toEqual([]);
    const [alias] = openaiSdkAlias({ OPENAI_SDK_PACKAGE: 'openai7' });
    expect('openai/version'.replace(alias!.find, alias!.replacement)).toBe('openai7/version');
    expect('openai'.replace(alias!.find, alias!.replacement)).toBe('openai7');
    expect(() => openaiSdkPackage({ OPENAI_SDK_PACKAGE: 'openai5' })).toThrow(/not one of openai, openai7/);
  });
});

describe('the openai client against a real gateway', () => {
  it('creates chat completions, plain and streamed with usage', async () => {
    const client = running.gateway.client();
    const plain = await client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    expect(plain.choices[0]!.message.content).toBeTruthy();
    expect(plain.usage!.prompt_tokens).toBeGreaterThan(0);

    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(text).not.toBe('');
    expect(completionTokens).toBeGreaterThan(0);
  });

  it('generates images and lists models', async () => {
    const client = running.gateway.client();
    const image = await client.images.generate({ model: 'gpt-image-2', prompt: 'a lighthouse at dusk' });
    expect(image.data?.[0]?.b64_json).toBeTruthy();
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain('gpt-4o');
  });

  it("raises the client's own error classes for the gateway's errors", async () => {
    const client = running.gateway.client();
    await expect(client.chat.completions.create({ model: 'no-such-model', messages: hello })).rejects.toMatchObject({
      constructor: OpenAI.NotFoundError,
      status: 404,
      code: 'model_not_found',
    });
    await expect(running.gateway.client('gw-not-a-key').models.list()).rejects.toMatchObject({ constructor: OpenAI.AuthenticationError, status: 401 });
    const limited = running.gateway.client(LIMITED_KEY);
    await limited.chat.completions.create({ model: 'gpt-4o', messages: hello });
    const refused = await limited.chat.completions.create({ model: 'gpt-4o', messages: hello }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
