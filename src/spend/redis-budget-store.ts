import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient, RedisConnection } from '../redis/connection.js';
import type { BudgetStore, Spent } from './budget-store.js';
import { dayIndex, monthIndex } from './windows.js';

/** Adds ARGV[1] micro-dollars to a key's day (KEYS[1]) and month (KEYS[2]) totals, atomically. */
const ADD_SCRIPT = `
local micros = tonumber(ARGV[1])
redis.call('INCRBY', KEYS[1], micros)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('INCRBY', KEYS[2], micros)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

const ADD_COMMAND = 'gatewaySpendAdd';
/** A window's total outlives the window a little, for /admin/usage read just after it. */
const DAY_KEY_TTL_MS = 2 * 86_400_000;
const MONTH_KEY_TTL_MS = 32 * 86_400_000;

/**
 * How long the costs of finished requests are added up in the process before they are written: under load,
 * a key's requests that end within these milliseconds cost one command instead of one each. This instance
 * decides on them at once; the others see them this much later.
 */
export const SPEND_FLUSH_MS = 10;

type SpendClient = RedisClient & {
  [ADD_COMMAND](dayKey: string, monthKey: string, micros: number, dayTtlMs: number, monthTtlMs: number): Promise<number>;
};

interface Pending {
  readonly day: number;
  readonly month: number;
  micros: number;
}

/**
 * Spend per key and UTC day and month in Redis, shared by every gateway on it. Both totals of a key carry its
 * name as a hash tag, so on a Redis Cluster they share a slot and are read and written in one command.
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly prefix: string;
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly log: FastifyBaseLogger,
  ) {
    this.prefix = `${redis.keyPrefix}spend:`;
    redis.client.defineCommand(ADD_COMMAND, { numberOfKeys: 2, lua: ADD_SCRIPT });
  }

  async spent(keyName: string, now: number): Promise<Spent> {
    const day = dayIndex(now);
    const month = monthIndex(now);
    const [dayTotal, monthTotal] = await this.redis.run((client) => client.mget(this.dayKey(keyName, day), this.monthKey(keyName, month)));
    const spent = { day: Number(dayTotal ?? 0), month: Number(monthTotal ?? 0) };
    const waiting = this.pending.get(keyName);
    if (waiting !== undefined) {
      if (waiting.day === day) spent.day += waiting.micros;
      if (waiting.month === month) spent.month += waiting.micros;
    }
    return spent;
  }

  add(keyName: string, micros: number, now: number): void {
    if (micros <= 0) return;
    const day = dayIndex(now);
    const month = monthIndex(now);
    let waiting = this.pending.get(keyName);
    if (waiting !== undefined && (waiting.day !== day || waiting.month !== month)) {
      // A new day: the last one's amount goes out now, to its own keys.
      void this.write(keyName, waiting);
      waiting = undefined;
    }
    if (waiting === undefined) {
      waiting = { day, month, micros: 0 };
      this.pending.set(keyName, waiting);
    }
    waiting.micros += micros;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), SPEND_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes every amount held back now. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const writes = [...this.pending].map(([keyName, waiting]) => this.write(keyName, waiting));
    this.pending.clear();
    await Promise.all(writes);
  }

  close(): Promise<void> {
    return this.flush();
  }

  /**
   * An amount that cannot be written (Redis is down) is dropped from the shared totals, as token counts are:
   * the connection logs the outage once, and the request's cost is still in the metrics and its log line.
   */
  private async write(keyName: string, waiting: Pending): Promise<void> {
    try {
      await this.redis.run((client) =>
        (client as SpendClient)[ADD_COMMAND](
          this.dayKey(keyName, waiting.day),
          this.monthKey(keyName, waiting.month),
          waiting.micros,
          DAY_KEY_TTL_MS,
          MONTH_KEY_TTL_MS,
        ),
      );
    } catch (err) {
      this.log.debug({ err: (err as Error).message, clientKey: keyName, micros: waiting.micros }, 'spend not recorded');
    }
  }

  private dayKey(keyName: string, day: number): string {
    return `${this.prefix}{${keyName}}:d:${day}`;
  }

  private monthKey(keyName: string, month: number): string {
    return `${this.prefix}{${keyName}}:m:${month}`;
  }
}
