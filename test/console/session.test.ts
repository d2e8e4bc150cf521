// The console's page, sign-in and session, over real HTTP: the headers every answer carries, the cookie's
// flags, same-origin writes, failed sign-ins limited per address, and what a key holder's session may reach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const ADMIN_TOKEN = 'console-admin-token-0123456789';
const HOUR_MS = 3_600_000;

let mock: MockUpstream;
let gateway: RunningGateway;
let now = Date.UTC(2026, 11, 6, 12);

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway(testConfig(mock.url, { adminToken: ADMIN_TOKEN }), {}, { clock: () => now });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

/** The console's own origin, as a browser on its page sends it. */
const origin = (): string => gateway.url;

async function signIn(token: string, headers: Record<string, string> = { origin: origin() }): Promise<Response> {
  return fetch(`${gateway.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
}

function cookieOf(response: Response): string {
  const cookie = response.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0]!;
}

describe('the console page', () => {
  it('is served at /admin/, and /admin redirects there', async () => {
    const redirect = await fetch(`${gateway.url}/admin`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/admin/');
    const page = await fetch(`${gateway.url}/admin/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/admin/assets/app.js');
  });

  it('carries a strict Content-Security-Policy, nosniff and no referrer, on the page and every asset', async () => {
    for (const path of ['/admin/', '/admin/assets/app.js', '/admin/assets/app.css', '/admin/assets/uPlot.iife.min.js']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status, path).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('loads in under 200 KiB of compressed assets, from this origin only', async () => {
    const html = await (await fetch(`${gateway.url}/admin/`)).text();
    const links = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
    expect(links.every((a) => a.startsWith('/admin/'))).toBe(true);
    // The page preloads the session check, an API answer; what counts is its files.
    const assets = links.filter((link) => link.startsWith('/admin/assets/'));
    expect(assets).toContain('/admin/assets/app.js');
    // A first load onto a page with a chart also fetches the chart library.
    assets.push('/admin/assets/uPlot.iife.min.js', '/admin/assets/uPlot.min.css');
    let bytes = 0;
    for (const path of ['/admin/', ...assets]) {
      const response = await fetch(`${gateway.url}${path}`, { headers: { 'accept-encoding': 'br' } });
      expect(response.headers.get('content-encoding'), path).toBe('br');
      bytes += Number(response.headers.get('content-length'));
    }
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(200 * 1024);
  });
});

describe('signing in', () => {
  it('opens a session in an HttpOnly, SameSite=Strict cookie for an admin token', async () => {
    const response = await signIn(ADMIN_TOKEN);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ role: 'admin', name: 'admin' });
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\/admin/);
    expect(cookie).toMatch(/; Max-Age=43200/);
    expect(cookie).not.toMatch(/Secure/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const session = await fetch(`${gateway.url}/admin/session`, { headers: { cookie: cookieOf(response) } });
    expect(await session.json()).toMatchObject({ role: 'admin', name: 'admin' });
  });

  it('marks the cookie Secure behind a proxy that terminated TLS', async () => {
    const host = new URL(gateway.url).host;
    const response = await signIn(ADMIN_TOKEN, { origin: `https://${host}`, 'x-forwarded-proto': 'https' });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('refuses a forged or missing Origin (403), so another site cannot sign a browser in', async () => {
    expect((await signIn(ADMIN_TOKEN, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await signIn(ADMIN_TOKEN, {})).status).toBe(403);
    expect((await signIn(ADMIN_TOKEN, { origin: `${gateway.url}.evil.example` })).status).toBe(403);
  });

  it('answers a wrong token 401, and an address that keeps failing 429', async () => {
    const headers = { origin: origin(), 'content-type': 'application/json' };
    // A fresh minute on the injected clock: earlier tests' failures are in another window.
    now += 60_000;
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${gateway.url}/admin/session`, { method: 'POST', headers, body: JSON.stringify({ token: `wrong-${i}` }) });
      expect(response.status).toBe(401);
    }
    const blocked = await signIn(ADMIN_TOKEN);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The admin API counts the same failures.
    expect((await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(429);
    now += 60_000;
    expect((await signIn(ADMIN_TOKEN)).status).toBe(200);
  });

  it('ends a session after 12 hours, and on sign-out', async () => {
    const cookie = cookieOf(await signIn(ADMIN_TOKEN));
    const whoAmI = () => fetch(`${gateway.url}/admin/session`, { headers: { cookie } });
    expect((await whoAmI()).status).toBe(200);
    now += 12 * HOUR_MS - 1;
    expect((await whoAmI()).status).toBe(200);
    now += 1;
    expect((await whoAmI()).status).toBe(401);

    const second = cookieOf(await signIn(ADMIN_TOKEN));
    const out = await fetch(`${gateway.url}/admin/session`, { method: 'DELETE', headers: { cookie: second, origin: origin() } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await fetch(`${gateway.url}/admin/session`, { headers: { cookie: second } })).status).toBe(401);
  });
});

describe("a key holder's session", () => {
  it('sees its own key and nothing of the admin API', async () => {
    const response = await signIn(CLIENT_KEY);
    expect(await response.json()).toEqual({ role: 'key', name: 'team-alpha' });
    const cookie = cookieOf(response);
    const own = await fetch(`${gateway.url}/admin/session/key`, { headers: { cookie } });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ name: 'team-alpha', team: null, models: null });
    for (const path of ['/admin/usage', '/admin/upstreams']) {
      const refused = await fetch(`${gateway.url}${path}`, { headers: { cookie } });
      expect(refused.status, path).toBe(403);
    }
  });

  it('never carries an upstream key, and the admin session sees accounts by name only', async () => {
    const cookie = cookieOf(await signIn(ADMIN_TOKEN));
    const upstreams = await fetch(`${gateway.url}/admin/upstreams`, { headers: { cookie } });
    const text = await upstreams.text();
    expect(upstreams.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ data: [{ pool: 'mock', account: 'acct-a', available: true }] });
    expect(text).not.toContain('sk-upstream-secret');
  });
});
