import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startGatewayProcess, type GatewayProcess } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

describe('the gateway process', () => {
  let mock: MockUpstream;
  let gateway: GatewayProcess;
  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: ['sk-from-env'] });
    // The shipped config/gateway.yaml, with keys from the environment, as `npm start` runs it.
    gateway = await startGatewayProcess(undefined, {
      GATEWAY_CONFIG: 'config/gateway.yaml',
      PORT: '0',
      GATEWAY_API_KEY: 'client-from-env',
      UPSTREAM_API_KEY: 'sk-from-env',
      UPSTREAM_BASE_URL: mock.url,
    });
  });
  afterAll(async () => {
    await gateway.stop();
    await mock.close();
  });

  it('serves requests with the default config and keys from the environment', async () => {
    const client = new OpenAI({ apiKey: 'client-from-env', baseURL: gateway.baseURL, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]!.message.content).toBe('Echo: hi');
  });

  it('keeps running on SIGHUP', async () => {
    const mark = gateway.output.length;
    gateway.child.kill('SIGHUP');
    await gateway.waitForOutput(/"msg":"config reload/, { from: mark });
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    expect(gateway.child.exitCode).toBeNull();
  });

  it('refuses to start on a bad config, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-config-'));
    const path = join(dir, 'gateway.yaml');
    writeFileSync(path, 'clientKeys: []\nupstreams:\n  - name: x\n    baseUrl: https://example.test/v1\n    accounts: [{ name: a, apiKey: k, weight: zero }]\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { PATH: process.env.PATH, GATEWAY_CONFIG: path }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('upstreams.0.accounts.0.weight');
  });
});
