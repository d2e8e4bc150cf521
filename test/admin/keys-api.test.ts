import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { type PostgresServer } from '../helpers/postgres.js';
import { useGatewayWithPostgres } from '../helpers/gateway-with-postgres.js';
import { admin, ADMINS, chat, VIEWER_TOKEN } from '../helpers/admin.js';

type Key = { id: string; name: string; key?: string; keyHint: string; team: string | null; status: string; source: string; revokedAt: string | null };

describe('admin API: keys, teams and audit on PostgreSQL', () => {
  const running = useGatewayWithPostgres({ teams: [{ name: 'config-team', models: ['gpt-4o'] }] });
  let gw: RunningGateway;
  let pg: PostgresServer;
  beforeAll(() => {
    ({ gateway: gw, pg } = running);
  });

  it('issues a key that works at once, shown only in the answer that made it', async () => {
    const created = await admin<Key>(gw.url, 'POST', '/admin/keys', { name: 'alice', metadata: { owner: 'alice@example.com' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const secret = created.body.key!;
    expect(secret).toMatch(/^aigw-[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ name: 'alice', team: null, keyHint: secret.slice(-4), source: 'api', metadata: { owner: 'alice@example.com' } });
    expect((await chat(gw.baseURL, secret)).status).toBe(200);

    const digest = createHash('sha256').update(secret).digest('hex');
    for (const path of ['/admin/keys', `/admin/keys/${created.body.id}`, '/admin/audit']) {
      const read = await admin(gw.url, 'GET', path);
      expect(read.status).toBe(200);
      expect(read.text).not.toContain(secret);
      expect(read.text).not.toContain(digest);
      expect(read.text).not.toContain('"key":');
    }
  });

  it('lists config keys read-only beside API keys, and refuses to change them', async () => {
    const list = await admin<{ data: Key[] }>(gw.url, 'GET', '/admin/keys');
    const config = list.body.data.find((k) => k.name === 'team-alpha')!;
    expect(config).toMatchObject({ source: 'config', keyHint: CLIENT_KEY.slice(-4) });
    const patched = await admin(gw.url, 'PATCH', `/admin/keys/${config.id}`, { name: 'other' });
    expect(patched.status).toBe(409);
    expect(patched.body).toMatchObject({ error: { code: 'managed_by_config' } });
    const taken = await admin(gw.url, 'POST', '/admin/keys', { name: 'team-alpha' });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ error: { code: 'name_taken', type: 'invalid_request_error' } });
    expect((await admin(gw.url, 'DELETE', '/admin/teams/config-team')).body).toMatchObject({ error: { code: 'managed_by_config' } });
  });

  it('answers ten concurrent creates of one name with one 201 and nine 409', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => admin(gw.url, 'POST', '/admin/keys', { name: 'racer' })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, ...Array(9).fill(409)]);
    for (const a of answers.filter((a) => a.status === 409)) expect(a.body).toMatchObject({ error: { code: 'name_taken' } });
  });

  it('refuses bad bodies with 400 and the field in param, and bodies over 64 KiB with 413', async () => {
    const badName = await admin(gw.url, 'POST', '/admin/keys', { name: 'has space' });
    expect(badName.status).toBe(400);
    expect(badName.body).toMatchObject({ error: { type: 'invalid_request_error', param: 'name' } });
    const badLimit = await admin(gw.url, 'POST', '/admin/keys', { name: 'x1', limits: { requestsPerMinute: -1 } });
    expect(badLimit.body).toMatchObject({ error: { param: 'limits.requestsPerMinute' } });
    const unknownField = await admin(gw.url, 'POST', '/admin/keys', { name: 'x2', secret: 'mine' });
    expect(unknownField.status).toBe(400);
    const past = await admin(gw.url, 'POST', '/admin/keys', { name: 'x3', expiresAt: '2001-01-01T00:00:00Z' });
    expect(past.body).toMatchObject({ error: { param: 'expiresAt' } });
    const notJson = await admin(gw.url, 'POST', '/admin/keys', '{"name":');
    expect(notJson.status).toBe(400);
    const huge = await admin(gw.url, 'POST', '/admin/keys', { name: 'big', metadata: { blob: 'x'.repeat(70 * 1024) } });
    expect(huge.status).toBe(413);
    const grace = await admin(gw.url, 'POST', '/admin/keys/key_missing/rotate', { graceSeconds: 8 * 24 * 3600 });
    expect(grace.status).toBe(404);
    expect((await admin(gw.url, 'GET', '/admin/keys/key_missing')).status).toBe(404);
    expect((await admin(gw.url, 'GET', '/admin/teams/nobody')).status).toBe(404);
    expect((await admin(gw.url, 'GET', '/admin/keys?status=sideways')).body).toMatchObject({ error: { param: 'status' } });
  });

  it('lets a viewer read but not write, and names each writer in the audit', async () => {
    expect((await admin(gw.url, 'GET', '/admin/keys', undefined, VIEWER_TOKEN)).status).toBe(200);
    const write = await admin(gw.url, 'POST', '/admin/keys', { name: 'viewer-made' }, VIEWER_TOKEN);
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ error: { code: 'forbidden' } });
    const created = await admin<Key>(gw.url, 'POST', '/admin/keys', { name: 'audited' });
    await admin(gw.url, 'PATCH', `/admin/keys/${created.body.id}`, { metadata: { a: 1 } });
    await admin(gw.url, 'POST', `/admin/keys/${created.body.id}/rotate`, {});
    await admin(gw.url, 'DELETE', `/admin/keys/${created.body.id}`);
    const audit = await admin<{ data: { by: string; action: string; target: string; at: string }[] }>(gw.url, 'GET', '/admin/audit?limit=4', undefined, VIEWER_TOKEN);
    expect(audit.body.data.map((e) => e.action)).toEqual(['key.revoked', 'key.rotated', 'key.updated', 'key.created']);
    expect(audit.body.data.every((e) => e.by === 'ops' && e.target === created.body.id)).toBe(true);
    expect(audit.text).not.toContain(created.body.key!);
  });

  it('revokes a key at once and keeps it for the record', async () => {
    const created = await admin<Key>(gw.url, 'POST', '/admin/keys', { name: 'leaked' });
    const revoked = await admin<Key>(gw.url, 'DELETE', `/admin/keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect(await chat(gw.baseURL, created.body.key!)).toMatchObject({ status: 401, code: 'invalid_api_key' });
    const active = await admin<{ data: Key[] }>(gw.url, 'GET', '/admin/keys');
    expect(active.body.data.some((k) => k.name === 'leaked')).toBe(false);
    const revokedList = await admin<{ data: Key[] }>(gw.url, 'GET', '/admin/keys?status=revoked');
    expect(revokedList.body.data.map((k) => k.name)).toContain('leaked');
  });

  it('answers 401 saying the key expired once its expiresAt has passed', async () => {
    const created = await admin<Key>(gw.url, 'POST', '/admin/keys', { name: 'short-lived', expiresAt: new Date(Date.now() + 60_000).toISOString() });
    expect((await chat(gw.baseURL, created.body.key!)).status).toBe(200);
    // Moved into the past behind the API's back: the check is the gateway's, per request, from memory.
    const { postgresEngine } = await import('../../src/store/postgres-engine.js');
    const engine = postgresEngine(pg.url, () => {});
    await engine.query("UPDATE gateway_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [created.body.id]);
    await engine.query('UPDATE gateway_changes SET version = version + 1');
    await engine.close();
    const expired = await (async () => {
      for (;;) {
        const answer = await chat(gw.baseURL, created.body.key!);
        if (answer.status !== 200) return answer;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    expect(expired).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(expired.message).toMatch(/expired/);
  });

  it('intersects a key\'s allow-list with its team\'s, and refuses to delete a team with active keys', async () => {
    expect((await admin(gw.url, 'POST', '/admin/teams', { name: 'ml', models: ['gpt-4o', 'gpt-4o-mini'] })).status).toBe(201);
    expect((await admin(gw.url, 'POST', '/admin/teams', { name: 'ml' })).body).toMatchObject({ error: { code: 'name_taken' } });
    expect((await admin(gw.url, 'POST', '/admin/keys', { name: 'orphan', team: 'no-such-team' })).status).toBe(404);
    const key = await admin<Key>(gw.url, 'POST', '/admin/keys', { name: 'ml-bot', team: 'ml', models: ['gpt-4o-mini', 'gpt-4.1'] });
    expect((await chat(gw.baseURL, key.body.key!, 'gpt-4o-mini')).status).toBe(200);
    expect(await chat(gw.baseURL, key.body.key!, 'gpt-4.1')).toMatchObject({ status: 403, code: 'model_not_allowed' });
    expect(await chat(gw.baseURL, key.body.key!, 'gpt-4o')).toMatchObject({ status: 403, code: 'model_not_allowed' });

    const busy = await admin(gw.url, 'DELETE', '/admin/teams/ml');
    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ error: { code: 'team_not_empty' } });
    await admin(gw.url, 'DELETE', `/admin/keys/${key.body.id}`);
    expect((await admin(gw.url, 'DELETE', '/admin/teams/ml')).status).toBe(200);
    const teams = await admin<{ data: { name: string; source: string }[] }>(gw.url, 'GET', '/admin/teams');
    expect(teams.body.data).toEqual([expect.objectContaining({ name: 'config-team', source: 'config' })]);
  });

  it('refuses a reload that gives a config key the name of an API key', async () => {
    await admin(gw.url, 'POST', '/admin/keys', { name: 'api-only' });
    const next = gw.app.services.config;
    expect(() => gw.app.services.reload({ ...next, clientKeys: [...next.clientKeys, { name: 'api-only', key: 'another-secret-value' }] })).toThrow(/"api-only"/);
  });
});

describe('admin credentials', () => {
  let upstream: MockUpstream;
  let gw: RunningGateway;
  beforeAll(async () => {
    upstream = await startMockUpstream();
    gw = await startGateway(testConfig(upstream.url, { adminToken: 'legacy-admin-token-0123456789' }));
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('takes adminToken as an admin; without a database, writes answer 503 store_unavailable', async () => {
    expect((await admin(gw.url, 'GET', '/admin/keys', undefined, 'legacy-admin-token-0123456789')).status).toBe(200);
    const write = await admin(gw.url, 'POST', '/admin/keys', { name: 'x' }, 'legacy-admin-token-0123456789');
    expect(write.status).toBe(503);
    expect(write.body).toMatchObject({ error: { code: 'store_unavailable' } });
  });

  it('answers 401 without a valid credential, then 429 after ten failures a minute from one address', async () => {
    expect((await admin(gw.url, 'GET', '/admin/keys', undefined, undefined)).status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await admin(gw.url, 'GET', '/admin/keys', undefined, `wrong-${i}`)).status);
    expect(statuses.slice(0, 9).every((s) => s === 401)).toBe(true);
    const locked = await admin(gw.url, 'GET', '/admin/keys', undefined, 'legacy-admin-token-0123456789');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).not.toBeNull();
  });
});

describe('admin API against a misbehaving client', () => {
  const running = useGatewayWithPostgres();
  let gw: RunningGateway;
  beforeAll(() => {
    gw = running.gateway;
  });

  it('treats ids and names that look like SQL as plain unknown values', async () => {
    for (const id of ["key_x' OR '1'='1", 'key_1; DROP TABLE gateway_keys', '..%2F..%2Fetc']) {
      const answer = await admin(gw.url, 'GET', `/admin/keys/${encodeURIComponent(id)}`);
      expect(answer.status).toBe(404);
    }
    expect((await admin(gw.url, 'POST', '/admin/keys', { name: "x' OR 1=1 --" })).status).toBe(400);
    expect((await admin(gw.url, 'GET', "/admin/keys?team=' OR 1=1 --")).body).toMatchObject({ data: [] });
    expect((await admin(gw.url, 'POST', '/admin/keys', { name: 'still-works' })).status).toBe(201);
  });

  it('refuses a body that is not JSON, not an object, or changes nothing', async () => {
    const form = await fetch(`${gw.url}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMINS[0]!.token}`, 'content-type': 'text/plain' }, body: 'name=x' });
    expect(form.status).toBe(415);
    expect(((await form.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect((await admin(gw.url, 'POST', '/admin/keys', [1, 2])).status).toBe(400);
    expect((await admin(gw.url, 'POST', '/admin/keys', 'null')).status).toBe(400);
    expect((await admin(gw.url, 'POST', '/admin/keys', { name: 'proto', metadata: JSON.parse('{"__proto__": {"admin": true}}') })).status).toBe(400);
    const created = await admin<{ id: string }>(gw.url, 'POST', '/admin/keys', { name: 'unchanged' });
    const empty = await admin(gw.url, 'PATCH', `/admin/keys/${created.body.id}`, {});
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ error: { code: 'empty_change' } });
  });

  it('bounds its query parameters', async () => {
    expect((await admin(gw.url, 'GET', '/admin/audit?limit=1000000')).body).toMatchObject({ error: { param: 'limit' } });
    expect((await admin(gw.url, 'GET', '/admin/audit?since=yesterday')).body).toMatchObject({ error: { param: 'since' } });
    expect((await admin(gw.url, 'GET', '/admin/usage/daily?from=2026-01-01')).body).toMatchObject({ error: { param: 'to' } });
  });
});
