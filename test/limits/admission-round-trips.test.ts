// A request of a key with token limits and a budget is admitted in one round trip to Redis: the limits'
// admission and the budget's reservation (the key's and its team's) leave in one write, so the request waits
// for one reply, not two after each other. A real gateway, Redis behind a tap that records each write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/gateway.js';
import { startTappedGateway, type TappedGateway } from '../helpers/tapped-gateway.js';

const SOLO = 'gw-key-round-trips-solo';
const MEMBER = 'gw-key-round-trips-member';
const LIMITS = { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000, usdPerDay: 100 };
const BODY = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 });

/** The admission script's call: the key, the clock offset, three limits and one reservation (9 parts). */
const admissionOf = (name: string): RegExp => new RegExp(`\\*9\\r\\n\\$7\\r\\nevalsha\\r\\n\\$40\\r\\n[0-9a-f]{40}\\r\\n\\$1\\r\\n1\\r\\n\\$\\d+\\r\\ngw:limit:\\{${name}\\}`, 'i');
/** The budget's reservation: three keys, the instance, two budgets, the amount and the lease (11 parts). */
const reservationOf = (name: string): RegExp => new RegExp(`\\*11\\r\\n\\$7\\r\\nevalsha\\r\\n\\$40\\r\\n[0-9a-f]{40}\\r\\n\\$1\\r\\n3\\r\\n\\$\\d+\\r\\ngw:spend:\\{${name}\\}:d:`, 'i');

describe('admission of a key with limits and a budget', () => {
  let tapped: TappedGateway;

  beforeAll(async () => {
    tapped = await startTappedGateway((urls) =>
      testConfig(urls.mock, {
        teams: [{ name: 'platform', limits: LIMITS }],
        clientKeys: [
          { name: 'solo', key: SOLO, limits: LIMITS },
          { name: 'member', key: MEMBER, team: 'platform', limits: LIMITS },
        ],
        redis: { url: urls.redis, timeoutMs: 1_000 },
      }),
    );
  });
  afterAll(() => tapped?.close());

  /** The writes to Redis made while one chat request of `key` ran, after a first one loaded the scripts. */
  async function writesOfOneRequest(key: string): Promise<string[]> {
    const chat = (): Promise<Response> =>
      fetch(`${tapped.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: BODY,
      });
    expect((await chat()).status).toBe(200);
    const before = tapped.tap.writes.length;
    const response = await chat();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-remaining-requests')).not.toBeNull();
    expect(response.headers.get('x-gateway-budget-remaining-usd')).not.toBeNull();
    await response.text();
    return tapped.tap.writes.slice(before);
  }

  it('sends the limits’ admission and the budget’s reservation in one write', async () => {
    const writes = await writesOfOneRequest(SOLO);
    const deciding = writes.filter((chunk) => admissionOf('solo').test(chunk) || reservationOf('solo').test(chunk));
    expect(deciding).toHaveLength(1);
    expect(deciding[0]).toMatch(admissionOf('solo'));
    expect(deciding[0]).toMatch(reservationOf('solo'));
  });

  it('sends the key’s and its team’s admissions and reservations in one write', async () => {
    const writes = await writesOfOneRequest(MEMBER);
    const patterns = [admissionOf('member'), reservationOf('member'), admissionOf('team:platform'), reservationOf('team:platform')];
    const deciding = writes.filter((chunk) => patterns.some((pattern) => pattern.test(chunk)));
    expect(deciding).toHaveLength(1);
    for (const pattern of patterns) expect(deciding[0]).toMatch(pattern);
  });
});
