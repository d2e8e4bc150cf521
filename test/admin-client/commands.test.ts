import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, chat, VIEWER_TOKEN } from '../helpers/admin.js';
import { ROOT, type RunningGateway } from '../helpers/gateway.js';
import { useGatewayWithPostgres } from '../helpers/gateway-with-postgres.js';

/** Runs the real command, as a user would, with the admin token in the environment. */
function cli(args: string[], token = ADMIN_TOKEN): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, GATEWAY_ADMIN_TOKEN: token },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('exit', (status) => resolve({ status, stdout }));
  });
}

describe('ai-gateway keys and teams against a running gateway', () => {
  const running = useGatewayWithPostgres();
  let gw: RunningGateway;
  beforeAll(() => {
    gw = running.gateway;
  });

  it('creates a team and a key in it, printing the secret once; lists, rotates and revokes it', async () => {
    const team = await cli(['teams', 'create', '--url', gw.url, '--name', 'web', '--models', 'gpt-4o,gpt-4o-mini']);
    expect(team).toMatchObject({ status: 0, stdout: 'created team web\n' });
    expect((await cli(['teams', 'list', '--url', gw.url])).stdout).toMatch(/^web\s+gpt-4o,gpt-4o-mini\s+api$/m);

    const created = await cli(['keys', 'create', '--url', gw.url, '--name', 'dev-ann', '--team', 'web']);
    expect(created.status).toBe(0);
    const secret = /^key: (aigw-\S+)$/m.exec(created.stdout)![1]!;
    const id = /^id: (\S+)$/m.exec(created.stdout)![1]!;
    expect((await chat(gw.baseURL, secret)).status).toBe(200);

    const listed = await cli(['keys', 'list', '--url', gw.url, '--team', 'web']);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain(secret.slice(-4));
    expect(listed.stdout).not.toContain(secret);

    const rotated = await cli(['keys', 'rotate', id, '--url', gw.url]);
    const next = /^key: (aigw-\S+)$/m.exec(rotated.stdout)![1]!;
    expect(next).not.toBe(secret);
    expect((await chat(gw.baseURL, secret)).status).toBe(401);
    expect((await chat(gw.baseURL, next)).status).toBe(200);

    const revoked = await cli(['keys', 'revoke', id, '--url', gw.url]);
    expect(revoked.stdout).toMatch(/^revoked dev-ann/);
    expect((await chat(gw.baseURL, next)).status).toBe(401);
  });

  it('reports the API error and exits 1; without a token it says so and exits 2', async () => {
    const forbidden = await cli(['keys', 'create', '--url', gw.url, '--name', 'nope'], VIEWER_TOKEN);
    expect(forbidden.status).toBe(1);
    expect(forbidden.stdout).toMatch(/^error 403: .*viewer/);
    const noToken = await cli(['keys', 'list', '--url', gw.url], '');
    expect(noToken.status).toBe(2);
    expect(noToken.stdout).toContain('GATEWAY_ADMIN_TOKEN');
    const unreachable = await cli(['teams', 'list', '--url', 'http://127.0.0.1:1']);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stdout).toMatch(/cannot reach the gateway/);
  });
});
