import type { KeyLimits } from '../limits/limiter.js';
import type { Services } from '../services.js';
import type { UsageRow } from '../store/usage-repo.js';
import { DAY_MS } from '../time-windows.js';

/** How far back a key holder's chart reaches. */
const CHART_DAYS = 30;

/** What a key holder's page shows: their key's rules, and what is left of its limits and budgets. */
export interface KeyHolderView {
  name: string;
  team: string | null;
  /** The models the key may use (its own list intersected with its team's); null for every model. */
  models: string[] | null;
  limits: KeyLimits;
  used: { requestsThisMinute: number; tokensThisMinute: number; tokensToday: number; usdToday: number; usdThisMonth: number };
  /** The key's own rows of the usage ledger over the last 30 days; absent without a database (or while it is down). */
  daily?: UsageRow[];
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
  const daily = await ownDailyUsage(services, name, now);
  return {
    name,
    team: key.team ?? null,
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
    ...(daily === undefined ? {} : { daily }),
  };
}

/** The key's rows of the ledger, freshly flushed; undefined when no database answers (the page then shows no chart). */
async function ownDailyUsage(services: Services, name: string, now: number): Promise<UsageRow[] | undefined> {
  const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
  try {
    await services.ledger.flush();
    return await services.store.use((r) => r.usage.daily(day(now - (CHART_DAYS - 1) * DAY_MS), day(now), 'key', [name]));
  } catch {
    return undefined;
  }
}
