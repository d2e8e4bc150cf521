import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT, testConfig, useGatewayWithMock } from './helpers/gateway.js';

function cli(...args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout };
}

const created = cli('keys', 'new', '--name', 'team-web', '--models', 'gpt-4o,gpt-4o-mini');
const key = /^key: (\S+)$/m.exec(created.stdout)![1]!;
const line = /^\s*(- \{ name: team-web.*\})$/m.exec(created.stdout)![1]!;

describe('ai-gateway keys', () => {
  it('prints a new random key and a config line holding only its hash', () => {
    expect(created.status).toBe(0);
    expect(key).toMatch(/^gwk-[A-Za-z0-9_-]{43}$/);
    expect(line).not.toContain(key);
    const [entry] = parseYaml(line) as { name: string; keySha256: string; models: string[] }[];
    expect(entry).toEqual({ name: 'team-web', keySha256: expect.stringMatching(/^[0-9a-f]{64}$/), models: ['gpt-4o', 'gpt-4o-mini'] });
    expect(cli('keys', 'new', '--name', 'team-web').stdout).not.toContain(key);
  });

  it('hashes an existing key the same way', () => {
    const hash = cli('keys', 'hash', key).stdout.trim();
    expect(line).toContain(hash);
  });

  it('refuses a missing name', () => {
    expect(cli('keys', 'new').status).toBe(2);
  });

  describe('with the printed line in a gateway config', () => {
    const running = useGatewayWithMock((url) => testConfig(url, { clientKeys: parseYaml(line) as never }));

    it('authenticates the key, within its allow-list', async () => {
      const completion = await running.gateway.client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0]!.message.content).toBe('Echo: hi');
    });

    it('refuses the hash itself and a near miss', async () => {
      const hash = (parseYaml(line) as { keySha256: string }[])[0]!.keySha256;
      for (const wrong of [hash, `${key}x`, key.slice(0, -1)]) {
        const response = await fetch(`${running.gateway.baseURL}/models`, { headers: { authorization: `Bearer ${wrong}` } });
        expect(response.status).toBe(401);
      }
    });
  });
});
