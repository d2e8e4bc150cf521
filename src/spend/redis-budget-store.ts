import type { FastifyBaseLogger } from 'fastify';
import { RedisUnavailableError, type RedisClient, type RedisConnection } from '../redis/connection.js';
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
 * How long the costs of finished requests may wait before they are written: they go with the next command
 * sent to Redis anyway (a request's admission or pin lookup), or after these milliseconds at the latest.
 * Under load, a key's requests that end meanwhile cost one command instead of one each, and none costs a
 * write of its own. This instance decides on them at once; the others see them up to this much later.
 */
export const SPEND_FLUSH_MS = 10;
/** How soon amounts that could not be sent (Redis was away) are tried again. */
const RETRY_MS = 1_000;

type SpendClient = RedisClient & {
  [ADD_COMMAND](dayKey: string, monthKey: string, micros: number, dayTtlMs: number, monthTtlMs: number): Promise<number>;
};

interface Pending {
  readonly keyName: string;
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
  /** Amounts not written yet, by key and window. */
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly log: FastifyBaseLogger,
  ) {
    this.prefix = `${redis.keyPrefix}spend:`;
    redis.client.defineCommand(ADD_COMMAND, { numberOfKeys: 2, lua: ADD_SCRIPT });
    redis.addWriteBehind(() => {
      // While Redis is away the retry timer sends them, not every batch.
      if (this.pending.size > 0 && this.redis.available) void this.flush();
    });
  }

  async spent(keyName: string, now: number): Promise<Spent> {
    const day = dayIndex(now);
    const month = monthIndex(now);
    // What is held back is read before the totals are asked for: an amount written after that question is in
    // this count and not in Redis' answer (commands on the connection keep their order), and one written
    // before it is in the answer and no longer held.
    const held = { day: 0, month: 0 };
    for (const waiting of this.pending.values()) {
      if (waiting.keyName !== keyName) continue;
      if (waiting.day === day) held.day += waiting.micros;
      if (waiting.month === month) held.month += waiting.micros;
    }
    const [dayTotal, monthTotal] = await this.redis.run((client) => client.mget(this.dayKey(keyName, day), this.monthKey(keyName, month)));
    return { day: Number(dayTotal ?? 0) + held.day, month: Number(monthTotal ?? 0) + held.month };
  }

  add(keyName: string, micros: number, now: number): void {
    if (micros <= 0) return;
    this.hold(keyName, dayIndex(now), monthIndex(now), micros);
    this.redis.writeWithin(SPEND_FLUSH_MS);
  }

  /** Writes every amount held back now. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const writes = [...this.pending.values()].map((waiting) => this.write(waiting));
    this.pending.clear();
    await Promise.all(writes);
  }

  private hold(keyName: string, day: number, month: number, micros: number): void {
    const id = `${keyName}\u0000${day}\u0000${month}`;
    let waiting = this.pending.get(id);
    if (waiting === undefined) {
      waiting = { keyName, day, month, micros: 0 };
      this.pending.set(id, waiting);
    }
    waiting.micros += micros;
  }

  private flushIn(ms: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush(), ms);
    this.timer.unref();
  }

  close(): Promise<void> {
    return this.flush();
  }

  /**
   * An amount that was not sent (Redis is away: the connection logs the outage once) is kept and sent again
   * later, so that budgets stay exact across an outage. One that was sent but not confirmed in time may have
   * been counted: it is dropped rather than risk counting it twice.
   */
  private async write(waiting: Pending): Promise<void> {
    const { keyName } = waiting;
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
      if (err instanceof RedisUnavailableError) {
        this.hold(keyName, waiting.day, waiting.month, waiting.micros);
        this.flushIn(RETRY_MS);
        return;
      }
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
