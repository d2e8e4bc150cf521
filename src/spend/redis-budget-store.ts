import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { RedisUnavailableError, type RedisConnection } from '../redis/connection.js';
import type { BudgetDecision, BudgetLimits, BudgetStore, Spent } from './budget-store.js';
import { defineBudgetCommands, HELD_COMMAND, RENEW_COMMAND, RESERVE_COMMAND, SETTLE_COMMAND, type BudgetClient } from './redis-budget-scripts.js';
import { dayWindow, monthWindow } from '../time-windows.js';
import { BudgetKeys } from './budget-keys.js';

/** A window's total outlives the window a little, for /admin/usage read just after it. */
export const DAY_KEY_TTL_MS = 2 * 86_400_000;
export const MONTH_KEY_TTL_MS = 32 * 86_400_000;

/**
 * How long the costs of finished requests may wait before they are written: they go with the next command
 * sent to Redis anyway (a request's admission or pin lookup), or after these milliseconds at the latest.
 * Under load, a key's requests that end meanwhile cost one command instead of one each, and none costs a
 * write of its own. Until then the key's requests in flight on other instances count their reservations,
 * which are most often more than they cost.
 */
export const SPEND_FLUSH_MS = 10;
/** How soon amounts that could not be sent (Redis was away) are tried again. */
const RETRY_MS = 1_000;
/**
 * How long what an instance's requests in flight hold counts without the instance renewing it: an instance
 * that dies with requests in flight stops holding the key's budget this long after. Renewed every third of it.
 */
export const HOLD_LEASE_MS = 60_000;

interface Pending {
  readonly keyName: string;
  readonly day: number;
  readonly month: number;
  micros: number;
  /** Micro-dollars of reservations these costs replace. */
  released: number;
  /** Settles added up here: each keeps its key busy until written. */
  settles: number;
}

interface QueuedReservation {
  readonly micros: number;
  resolve(decision: BudgetDecision): void;
  reject(err: unknown): void;
}

/** A key's reservations of one turn, in one window and under one set of budgets (a reload may change them). */
interface ReservationBatch {
  readonly keyName: string;
  readonly day: number;
  readonly month: number;
  readonly limits: BudgetLimits;
  readonly queued: QueuedReservation[];
}

/**
 * Spend per key and UTC day and month in Redis, shared by every gateway on it, and what each key's requests
 * in flight hold, per instance under a lease. A key's keys carry its name as a hash tag, so on a Redis
 * Cluster they share a slot and a reservation is decided in one script.
 */
export class RedisBudgetStore implements BudgetStore {
  /** This instance in the held hashes. */
  readonly instanceId = randomBytes(6).toString('hex');
  private readonly names: BudgetKeys;
  /** Amounts not written yet, by key and window. */
  private readonly pending = new Map<string, Pending>();
  /** What this instance's requests in flight hold, by key, as it knows it. */
  private readonly holding = new Map<string, number>();
  /** Reservations and settles of a key on their way to Redis: while any is, its holding is not written whole. */
  private readonly busy = new Map<string, number>();
  /** Reservations asked for in this turn of the event loop, by key, window and budgets: see sendReservations. */
  private reserving = new Map<string, ReservationBatch>();
  private timer: NodeJS.Timeout | undefined;
  private readonly renewer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisConnection,
    private readonly log: FastifyBaseLogger,
  ) {
    this.names = new BudgetKeys(redis.keyPrefix);
    defineBudgetCommands(redis.client);
    redis.addWriteBehind(() => {
      this.sendReservations();
      // While Redis is away the retry timer sends them, not every batch.
      if (this.pending.size > 0 && this.redis.available) void this.flush();
    });
    this.renewer = setInterval(() => this.renew(), HOLD_LEASE_MS / 3);
    this.renewer.unref();
  }

  async spent(keyName: string, now: number): Promise<Spent> {
    const day = dayWindow(now);
    const month = monthWindow(now);
    // What is held back is read before the totals are asked for: an amount written after that question is in
    // this count and not in Redis' answer (commands on the connection keep their order), and one written
    // before it is in the answer and no longer held.
    const held = { day: 0, month: 0 };
    for (const waiting of this.pending.values()) {
      if (waiting.keyName !== keyName) continue;
      if (waiting.day === day) held.day += waiting.micros;
      if (waiting.month === month) held.month += waiting.micros;
    }
    const [dayTotal, monthTotal] = await this.redis.run((client) => client.mget(this.names.day(keyName, day), this.names.month(keyName, month)));
    return { day: Number(dayTotal ?? 0) + held.day, month: Number(monthTotal ?? 0) + held.month };
  }

  /**
   * Decided in the connection's next write, with the other commands of this turn (the key's token-limit
   * admission, a pin lookup): the key's reservations asked for in one turn go as one script that decides
   * them in arrival order, each on what the ones before it left. Costs not written yet count there as
   * their reservations until they are (see SPEND_FLUSH_MS).
   */
  reserve(keyName: string, limits: BudgetLimits, micros: number, now: number): Promise<BudgetDecision> {
    this.mark(keyName, 1);
    const day = dayWindow(now);
    const month = monthWindow(now);
    const id = `${keyName}\u0000${day}\u0000${month}\u0000${limits.day ?? -1}\u0000${limits.month ?? -1}`;
    return new Promise<BudgetDecision>((resolve, reject) => {
      const queued = { micros, resolve, reject };
      const batch = this.reserving.get(id);
      if (batch === undefined) this.reserving.set(id, { keyName, day, month, limits, queued: [queued] });
      else batch.queued.push(queued);
      this.redis.sendSoon();
    }).finally(() => this.mark(keyName, -1));
  }

  /** Sends each key's reservations of this turn as one script (called before each write, see the constructor). */
  private sendReservations(): void {
    if (this.reserving.size === 0) return;
    const batches = this.reserving;
    this.reserving = new Map();
    for (const { keyName, day, month, limits, queued } of batches.values()) {
      this.redis
        .run((client) =>
          (client as BudgetClient)[RESERVE_COMMAND](
            this.names.day(keyName, day),
            this.names.month(keyName, month),
            this.names.held(keyName),
            this.instanceId,
            limits.day ?? -1,
            limits.month ?? -1,
            HOLD_LEASE_MS,
            ...queued.map((q) => q.micros),
          ),
        )
        .then(
          (decided) => {
            const spent = { day: decided[0]!, month: decided[1]! };
            queued.forEach((q, i) => {
              const allowed = decided[2 + 2 * i] === 1;
              if (allowed) this.holding.set(keyName, (this.holding.get(keyName) ?? 0) + q.micros);
              q.resolve({ allowed, spent: { ...spent }, held: decided[3 + 2 * i]! });
            });
          },
          (err: unknown) => {
            for (const q of queued) q.reject(err);
          },
        );
    }
  }

  settle(keyName: string, reserved: number, micros: number, now: number): void {
    if (reserved > 0) this.holding.set(keyName, Math.max(0, (this.holding.get(keyName) ?? 0) - reserved));
    if (micros <= 0 && reserved <= 0) return;
    this.hold(keyName, dayWindow(now), monthWindow(now), micros, reserved, 1);
    this.redis.writeWithin(SPEND_FLUSH_MS);
  }

  async held(keyName: string): Promise<number> {
    return this.redis.run((client) => (client as BudgetClient)[HELD_COMMAND](...this.names.all(keyName, Date.now()), this.instanceId));
  }

  /** Writes every amount held back now. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const writes = [...this.pending.values()].map((waiting) => this.write(waiting));
    this.pending.clear();
    await Promise.all(writes);
  }

  close(): Promise<void> {
    clearInterval(this.renewer);
    return this.flush();
  }

  /**
   * Renews this instance's lease on what its requests hold, for each key it holds something of (or held,
   * until that is written); a key with nothing on its way to Redis gets what this instance knows it holds.
   * Runs every third of {@link HOLD_LEASE_MS}.
   */
  renew(): void {
    for (const [keyName, micros] of this.holding) {
      const quiet = (this.busy.get(keyName) ?? 0) === 0;
      if (micros === 0 && quiet) this.holding.delete(keyName);
      this.redis
        .run((client) => (client as BudgetClient)[RENEW_COMMAND](...this.names.all(keyName, Date.now()), this.instanceId, HOLD_LEASE_MS, quiet ? micros : ''))
        .catch(() => undefined); // the next renewal tries again; the connection logs an outage once
    }
  }

  private mark(keyName: string, change: number): void {
    const busy = (this.busy.get(keyName) ?? 0) + change;
    if (busy === 0) this.busy.delete(keyName);
    else this.busy.set(keyName, busy);
  }

  private hold(keyName: string, day: number, month: number, micros: number, released: number, settles: number): void {
    const id = `${keyName}\u0000${day}\u0000${month}`;
    let waiting = this.pending.get(id);
    if (waiting === undefined) {
      waiting = { keyName, day, month, micros: 0, released: 0, settles: 0 };
      this.pending.set(id, waiting);
    }
    waiting.micros += micros;
    waiting.released += released;
    waiting.settles += settles;
    this.mark(keyName, settles);
  }

  private flushIn(ms: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush(), ms);
    this.timer.unref();
  }

  /**
   * An amount that was not sent (Redis is away: the connection logs the outage once) is kept and sent again
   * later, so that budgets stay exact across an outage. One that was sent but not confirmed in time may have
   * been counted: it is dropped rather than risk counting it twice (what it released is set right by the
   * next renewal).
   */
  private async write(waiting: Pending): Promise<void> {
    const { keyName } = waiting;
    try {
      await this.redis.run((client) =>
        (client as BudgetClient)[SETTLE_COMMAND](
          this.names.day(keyName, waiting.day),
          this.names.month(keyName, waiting.month),
          this.names.held(keyName),
          this.instanceId,
          waiting.micros,
          DAY_KEY_TTL_MS,
          MONTH_KEY_TTL_MS,
          waiting.released,
          HOLD_LEASE_MS,
        ),
      );
    } catch (err) {
      if (err instanceof RedisUnavailableError) {
        this.hold(keyName, waiting.day, waiting.month, waiting.micros, waiting.released, waiting.settles);
        this.flushIn(RETRY_MS);
      } else {
        this.log.debug({ err: (err as Error).message, clientKey: keyName, micros: waiting.micros }, 'spend not recorded');
      }
    } finally {
      this.mark(keyName, -waiting.settles);
    }
  }
}
