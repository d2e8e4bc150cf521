import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { RedisUnavailableError, type RedisConnection } from '../redis/connection.js';
import { dayWindow, monthWindow } from '../time-windows.js';
import { BudgetKeys } from './budget-keys.js';
import { BudgetLease } from './budget-lease.js';
import type { BudgetDecision, BudgetLimits, BudgetStore, Spent } from './budget-store.js';
import { defineLeaseBudgetCommand, LEASE_BUDGET_COMMAND, type LeaseBudgetClient } from './lease-budget-scripts.js';
import { defineBudgetCommands, HELD_COMMAND, RENEW_COMMAND, SETTLE_COMMAND, type BudgetClient } from './redis-budget-scripts.js';
import { DAY_KEY_TTL_MS, HOLD_LEASE_MS, MONTH_KEY_TTL_MS } from './redis-budget-store.js';

interface QueuedReservation {
  readonly micros: number;
  resolve(decision: BudgetDecision): void;
  reject(err: unknown): void;
}

/** One call of the lease script for a key: what its lease wrote, the reservations Redis decides, a grant. */
interface Order {
  readonly keyName: string;
  readonly lease: BudgetLease;
  readonly limits: BudgetLimits;
  readonly now: number;
  readonly queued: QueuedReservation[];
  /** Called once the reply is in (or the call failed): ends the lease's renewal. */
  done: () => void;
}

/**
 * Budgets in Redis, admitted from leases (`limits.admission: lease`): each instance holds a share of what is
 * left of a key's budgets (beside its requests' reservations, under the same 60 s hold lease, renewed every
 * 20 s) and admits the key's requests against it without a round trip. Costs of ended requests gather in the
 * lease and are written every `flushMs` (or with the key's next call). Redis is asked, exactly as the
 * exact store asks it, only for a key's first request or when a request does not fit the lease; it then also
 * takes a new share. The lease is topped up in the background once half of it is used; a lease idle for a
 * renewal period gives back what it does not use, and every lease is given back when the gateway stops.
 */
export class LeasedBudgetStore implements BudgetStore {
  readonly instanceId = randomBytes(6).toString('hex');
  private readonly names: BudgetKeys;
  private readonly leases = new Map<string, BudgetLease>();
  private orders = new Map<string, Order>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly renewer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisConnection,
    private readonly log: FastifyBaseLogger,
    private readonly share: number,
    private readonly flushMs: number,
  ) {
    this.names = new BudgetKeys(redis.keyPrefix);
    defineBudgetCommands(redis.client);
    defineLeaseBudgetCommand(redis.client);
    redis.addWriteBehind(() => this.sendOrders());
    this.renewer = setInterval(() => this.renew(), HOLD_LEASE_MS / 3);
    this.renewer.unref();
  }

  async spent(keyName: string, now: number): Promise<Spent> {
    const lease = this.leases.get(keyName);
    const day = dayWindow(now);
    const month = monthWindow(now);
    const pending = lease !== undefined && lease.consumedDay === day ? lease.consumed : 0;
    const pendingMonth = lease !== undefined && lease.consumedMonth === month ? lease.consumed : 0;
    const [dayTotal, monthTotal] = await this.redis.run((client) => client.mget(this.names.day(keyName, day), this.names.month(keyName, month)));
    return { day: Number(dayTotal ?? 0) + pending, month: Number(monthTotal ?? 0) + pendingMonth };
  }

  reserve(keyName: string, limits: BudgetLimits, micros: number, now: number): Promise<BudgetDecision> {
    const lease = this.leaseOf(keyName, limits);
    if (lease.fits(limits, micros, now)) {
      lease.take(micros);
      if (lease.low) this.order(keyName, lease, now);
      return Promise.resolve({ allowed: true, spent: { ...lease.spent }, held: lease.others + lease.carved });
    }
    const unsent = this.orders.get(keyName);
    if (unsent === undefined && lease.renewing !== undefined) return lease.renewing.then(() => this.reserve(keyName, limits, micros, now));
    lease.limits = limits;
    return new Promise((resolve, reject) => (unsent ?? this.order(keyName, lease, now)).queued.push({ micros, resolve, reject }));
  }

  /** Every key's costs gather in a lease (one without a budget holds nothing), written within `flushMs`. */
  settle(keyName: string, reserved: number, micros: number, now: number): void {
    if (micros <= 0 && reserved <= 0) return;
    const lease = this.leaseOf(keyName, {});
    if (lease.consumed > 0 && (lease.consumedDay !== dayWindow(now) || lease.consumedMonth !== monthWindow(now))) this.write(keyName, lease);
    lease.settle(reserved, micros, now);
    if (lease.granted > 0 && lease.room < 0) this.order(keyName, lease, now);
    else this.flushSoon();
  }

  private flushSoon(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => void this.flush(), this.flushMs);
    this.flushTimer.unref();
  }

  async held(keyName: string): Promise<number> {
    return this.redis.run((client) => (client as BudgetClient)[HELD_COMMAND](...this.names.all(keyName, Date.now()), this.instanceId));
  }

  /** Writes the costs every lease gathered. */
  async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await Promise.all([...this.leases].filter(([, lease]) => lease.consumed > 0).map(([keyName, lease]) => this.write(keyName, lease)));
  }

  /** Writes every lease's costs and gives back what it holds beyond its running requests. */
  async close(): Promise<void> {
    clearInterval(this.renewer);
    clearTimeout(this.flushTimer);
    await Promise.all([...this.leases].map(([keyName, lease]) => this.write(keyName, lease, Math.max(0, lease.room))));
  }

  /**
   * Every third of the hold's lease: renews what each instance's lease holds; one idle since the last time
   * gives back its room first, and one with no call on its way is set to what this instance knows it holds.
   */
  renew(): void {
    for (const [keyName, lease] of this.leases) {
      if (lease.empty) {
        this.leases.delete(keyName);
        continue;
      }
      if (!lease.used && lease.room > 0) void this.write(keyName, lease, lease.room);
      lease.used = false;
      if (lease.held <= 0 && lease.busy === 0) continue; // a key without a budget: nothing to hold
      const heal = lease.busy === 0 ? lease.held : '';
      this.redis
        .run((client) => (client as BudgetClient)[RENEW_COMMAND](...this.names.all(keyName, Date.now()), this.instanceId, HOLD_LEASE_MS, heal))
        .catch(() => undefined); // the next renewal tries again; the connection logs an outage once
    }
  }

  private leaseOf(keyName: string, limits: BudgetLimits): BudgetLease {
    let lease = this.leases.get(keyName);
    if (lease === undefined) {
      lease = new BudgetLease(limits);
      this.leases.set(keyName, lease);
    }
    return lease;
  }

  /** This turn's call for the key: made, and a write scheduled, when there is none. */
  private order(keyName: string, lease: BudgetLease, now: number): Order {
    let order = this.orders.get(keyName);
    if (order !== undefined) return order;
    // Costs of earlier windows go to them first.
    if (lease.consumed > 0 && (lease.consumedDay !== dayWindow(now) || lease.consumedMonth !== monthWindow(now))) void this.write(keyName, lease);
    const made: Order = { keyName, lease, limits: lease.limits, now, queued: [], done: () => undefined };
    if (lease.renewing === undefined) {
      lease.renewing = new Promise<void>((resolve) => {
        made.done = () => {
          lease.renewing = undefined;
          resolve();
        };
      });
    }
    this.orders.set(keyName, made);
    this.redis.sendSoon();
    order = made;
    return order;
  }

  private sendOrders(): void {
    if (this.orders.size === 0) return;
    const orders = this.orders;
    this.orders = new Map();
    for (const order of orders.values()) {
      this.send(order).then(order.done, (err: unknown) => {
        for (const q of order.queued) q.reject(err);
        order.done();
      });
    }
  }

  private async send({ keyName, lease, limits, now, queued }: Order): Promise<void> {
    const written = lease.takeConsumed();
    lease.busy++;
    let reply: number[];
    try {
      reply = await this.redis.run((client) =>
        (client as LeaseBudgetClient)[LEASE_BUDGET_COMMAND](
          ...this.names.all(keyName, now),
          this.instanceId,
          limits.day ?? -1,
          limits.month ?? -1,
          HOLD_LEASE_MS,
          this.share,
          written.micros,
          written.released,
          DAY_KEY_TTL_MS,
          MONTH_KEY_TTL_MS,
          ...queued.map((q) => q.micros),
        ),
      );
    } catch (err) {
      if (err instanceof RedisUnavailableError) lease.restore(written);
      throw err;
    } finally {
      lease.busy--;
    }
    const spent = { day: reply[0]!, month: reply[1]! };
    let reserved = 0;
    queued.forEach((q, i) => {
      const allowed = reply[2 + 2 * i] === 1;
      if (allowed) reserved += q.micros;
      q.resolve({ allowed, spent: { ...spent }, held: reply[3 + 2 * i]! });
    });
    const granted = reply[2 + 2 * queued.length]!;
    lease.held += reserved + granted;
    lease.carved += reserved;
    lease.granted = granted;
    if (reserved > 0) lease.used = true;
    lease.known(spent, reply[3 + 2 * queued.length]!, now);
  }

  /**
   * Writes the costs the lease gathered to the windows they were spent in, and gives back `release` of what
   * it holds. Costs that did not reach Redis (it is away) stay in the lease for the next write; ones sent but
   * not confirmed may have been counted and are dropped (the next renewal sets the hold right).
   */
  private async write(keyName: string, lease: BudgetLease, release = 0): Promise<void> {
    const { consumedDay, consumedMonth } = lease;
    const written = lease.takeConsumed();
    lease.held -= release;
    lease.busy++;
    try {
      await this.redis.run((client) =>
        (client as BudgetClient)[SETTLE_COMMAND](
          this.names.day(keyName, consumedDay),
          this.names.month(keyName, consumedMonth),
          this.names.held(keyName),
          this.instanceId,
          written.micros,
          DAY_KEY_TTL_MS,
          MONTH_KEY_TTL_MS,
          written.released + release,
          HOLD_LEASE_MS,
        ),
      );
    } catch (err) {
      if (err instanceof RedisUnavailableError) {
        lease.restore(written);
        lease.held += release;
        this.flushSoon();
      } else this.log.debug({ err: (err as Error).message, clientKey: keyName, micros: written.micros }, 'spend not recorded');
    } finally {
      lease.busy--;
    }
  }
}
