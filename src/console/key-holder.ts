import type { KeyLimits } from '../limits/limiter.js';
import type { Services } from '../services.js';

/** What a key holder's page shows: their key's rules, and what is left of its limits and budgets. */
export interface KeyHolderView {
  name: string;
  models: string[] | null;
  limits: KeyLimits;
  used: { requestsThisMinute: number; tokensThisMinute: number; tokensToday: number; usdToday: number; usdThisMonth: number };
  left: {
    requestsThisMinute: number | null;
    tokensThisMinute: number | null;
    tokensToday: number | null;
    usdToday: number | null;
    usdThisMonth: number | null;
  };
}

/** The view of one key by name, or undefined when the key no longer exists (revoked, or gone in a reload). */
export async function keyHolderView(services: Services, name: string): Promise<KeyHolderView | undefined> {
  const key = services.keyring.all().find((k) => k.name === name);
  if (key === undefined) return undefined;
  const now = services.limiter.now();
  const [[counts], [spent]] = await Promise.all([services.limiter.usage([key], now), services.spend.usage([name])]);
  const limits = key.config.limits ?? {};
  const left = (limit: number | undefined, used: number): number | null => (limit === undefined ? null : Math.max(0, limit - used));
  const usdToday = spent?.today ?? 0;
  const usdThisMonth = spent?.month ?? 0;
  return {
    name,
    models: key.allowedModels === undefined ? null : [...key.allowedModels],
    limits,
    used: { requestsThisMinute: counts!.requestsThisMinute, tokensThisMinute: counts!.tokensThisMinute, tokensToday: counts!.tokensToday, usdToday, usdThisMonth },
    left: {
      requestsThisMinute: left(limits.requestsPerMinute, counts!.requestsThisMinute),
      tokensThisMinute: left(limits.tokensPerMinute, counts!.tokensThisMinute),
      tokensToday: left(limits.tokensPerDay, counts!.tokensToday),
      usdToday: left(limits.usdPerDay, usdToday),
      usdThisMonth: left(limits.usdPerMonth, usdThisMonth),
    },
  };
}
