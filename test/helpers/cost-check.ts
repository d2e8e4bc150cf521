// Reads a request's cost everywhere the gateway reports it: the log line's costUsd, /admin/usage and
// gateway_cost_usd_total, for cost tests through a real listening gateway.
import { expect } from 'vitest';
import type { RunningGateway } from './gateway.js';
import { find, parsePrometheus, type Exposition } from './prometheus.js';

export interface Spent {
  today: number;
  month: number;
}

/** Polls `read` until it gives a value (an event the gateway logs after the answer went out). */
export async function eventually<T>(read: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface CostCheck {
  scrape(): Promise<Exposition>;
  spentBy(keyName: string): Promise<Spent>;
  /** Checks one key's cost, as the only thing it spent, everywhere it is reported. */
  expectCost(keyName: string, model: string, usd: number, status?: number): Promise<void>;
}

export function costCheck(getGateway: () => RunningGateway, adminToken: string): CostCheck {
  const scrape = async (): Promise<Exposition> => parsePrometheus(await (await fetch(`${getGateway().url}/metrics`)).text());
  const spentBy = async (name: string): Promise<Spent> => {
    const response = await fetch(`${getGateway().url}/admin/usage`, { headers: { authorization: `Bearer ${adminToken}` } });
    const rows = ((await response.json()) as { data: { name: string; costUsd: Spent }[] }).data;
    return rows.find((r) => r.name === name)!.costUsd;
  };
  return {
    scrape,
    spentBy,
    async expectCost(name, model, usd, status = 200) {
      const gateway = getGateway();
      const line = await eventually(() => gateway.logs.lines.find((l) => l.clientKey === name && typeof l.costUsd === 'number'), `${name}'s log line`);
      expect(line).toMatchObject({ model, status, costUsd: usd });
      expect(await spentBy(name)).toEqual({ today: usd, month: usd });
      const samples = find(await scrape(), 'gateway_cost_usd_total', { client_key: name });
      expect(samples.map((s) => [s.labels, s.value])).toEqual([[{ model, client_key: name, team: '', account: 'acct-a' }, usd]]);
    },
  };
}
