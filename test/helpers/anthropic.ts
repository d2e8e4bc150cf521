// A gateway with an Anthropic upstream pool (two accounts on the mock), and the official Anthropic client.
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { CLIENT_KEY, testConfig, type RunningGateway } from './gateway.js';

export const ANTHROPIC_KEYS = { a: 'sk-ant-upstream-a-0123456789', b: 'sk-ant-upstream-b-0123456789' } as const;

/** The test config with one `api: anthropic` pool of accounts acct-a and acct-b on the mock. */
export function anthropicConfig(mockUrl: string, overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return testConfig(mockUrl, {
    upstreams: [
      {
        name: 'anthropic',
        api: 'anthropic',
        baseUrl: mockUrl,
        accounts: [
          { name: 'acct-a', apiKey: ANTHROPIC_KEYS.a },
          { name: 'acct-b', apiKey: ANTHROPIC_KEYS.b },
        ],
      },
    ],
    ...overrides,
  });
}

/**
 * The official client on the gateway. By default the key goes in `x-api-key`, as `ANTHROPIC_API_KEY` does
 * with Claude Code; `bearer` sends it as `Authorization: Bearer` (`ANTHROPIC_AUTH_TOKEN`).
 */
export function anthropicClient(gateway: RunningGateway, key = CLIENT_KEY, how: 'x-api-key' | 'bearer' = 'x-api-key'): Anthropic {
  const auth = how === 'bearer' ? { authToken: key, apiKey: null } : { apiKey: null, defaultHeaders: { 'x-api-key': key } };
  return new Anthropic({ ...auth, baseURL: gateway.url, maxRetries: 0 });
}

/** The Anthropic client's error that `promise` failed with: it must be one of the client's API errors. */
export async function apiFailure(promise: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Anthropic.APIError);
  return error as InstanceType<typeof Anthropic.APIError>;
}
