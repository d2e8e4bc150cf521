// POST /admin/heap: the heap after a forced full GC, for leak hunting. It exists only in a process run with
// --expose-gc, and only behind adminToken: nobody else can make the gateway pause for a full collection.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// What --expose-gc gives, set up before the gateway's modules load (they look for `gc` once).
const gcCalls = await vi.hoisted(async () => {
  (await import('node:v8')).setFlagsFromString('--expose-gc');
  const gc = (await import('node:vm')).runInNewContext('gc') as () => void;
  const calls = { count: 0 };
  (globalThis as { gc?: () => void }).gc = () => {
    calls.count++;
    gc();
  };
  return calls;
});

import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startGateway, startGatewayProcess, testConfig, type RunningGateway } from '../helpers/gateway.js';

const ADMIN_TOKEN = 'admin-token-for-heap-0123456789';

describe('POST /admin/heap', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let bare: RunningGateway;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway(testConfig(mock.url, { adminToken: ADMIN_TOKEN }));
    bare = await startGateway(testConfig(mock.url));
  });
  afterAll(async () => {
    await gateway?.close();
    await bare?.close();
    await mock?.close();
  });

  const post = (url: string, token?: string): Promise<Response> =>
    fetch(`${url}/admin/heap`, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('forces a full GC and answers the memory after it, with the admin token', async () => {
    const before = gcCalls.count;
    const res = await post(gateway.url, ADMIN_TOKEN);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ object: 'heap' });
    for (const field of ['heapUsedBytes', 'heapTotalBytes', 'externalBytes', 'arrayBuffersBytes', 'rssBytes', 'mallocedBytes']) {
      expect(body[field]).toBeGreaterThan(0);
    }
    expect(gcCalls.count).toBe(before + 1);
  });

  it('refuses a request without the admin token, or with a client key, before any GC', async () => {
    const before = gcCalls.count;
    for (const token of [undefined, 'gw-test-key-alpha', `${ADMIN_TOKEN}x`]) {
      const res = await post(gateway.url, token);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    }
    expect(gcCalls.count).toBe(before);
  });

  it('does not exist without an adminToken', async () => {
    const before = gcCalls.count;
    const res = await post(bare.url, 'anything-at-all-0123456789');
    expect(res.status).toBe(404);
    expect(gcCalls.count).toBe(before);
  });

  it('does not exist in a process run without --expose-gc, admin token or not', async () => {
    const proc = await startGatewayProcess(testConfig(mock.url, { adminToken: ADMIN_TOKEN }));
    try {
      const res = await post(proc.url, ADMIN_TOKEN);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    } finally {
      await proc.stop();
    }
  }, 30_000);
});
