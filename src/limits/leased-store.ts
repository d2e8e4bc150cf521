import type { RedisConnection } from '../redis/connection.js';
import { minuteWindow } from '../time-windows.js';
import { KeyLease, leaseExpiry } from './lease.js';
import { defineLeaseCommand, LEASE_COMMAND, NO_RETURN, type LeaseClient, type LeaseReturn } from './lease-scripts.js';
import { decide, hasLimits, type Admission, type KeyLimits, type LimitStore, type TokenReservation, type WindowCounts } from './limiter.js';
import { RedisLimitStore } from './redis-store.js';

interface QueuedAdmission {
  reserve: number;
  resolve: (admission: Admission) => void;
  reject: (err: unknown) => void;
}

/** One call of the lease script for a key: the admissions Redis decides, and whether a lease is given back or taken. */
interface Order {
  keyName: string;
  limits: KeyLimits;
  admissions: QueuedAdmission[];
  returned: LeaseReturn;
  /** The lease the grant adds to; undefined: a new one. */
  lease: KeyLease | undefined;
  grant: boolean;
  /** The gateway's clock when it was made: the lease's end is set on it. */
  now: number;
  /** Called once the reply is in (or the call failed): end the lease's renewal, or release the requests waiting for a first lease. */
  finished: (() => void)[];
}

/** A call that only gives a lease back. */
function returnOrder(keyName: string, lease: KeyLease): Order {
  return { keyName, limits: lease.limits, admissions: [], returned: lease.giveBack(), lease: undefined, grant: false, now: 0, finished: [] };
}

/** An admission from the lease, on the counts this instance sees: its reservation lives in the lease's minute (Redis's). */
function fromLease(lease: KeyLease, counts: WindowCounts, now: number): Admission {
  return { ...decide(lease.limits, counts, now), allowed: true, exceeded: undefined, retryAfterMs: 0, minute: lease.minute };
}

/**
 * Limits in Redis, admitted from leases (`limits.admission: lease`): each instance holds a share of a key's
 * requests and tokens in the current minute, reserved in Redis's windows like a reservation, and admits the
 * key's requests against it without a round trip. Redis is asked, exactly as the exact store asks it, only
 * for the first request of a key in a minute, or when the lease cannot hold a request; it then also takes
 * a new share. A lease is renewed in the background once half of it is used, and given back when its
 * minute ends (the next call for its key carries it) or the gateway stops. Keys without limits, the usage
 * counts and the reservations that outlive their lease go through the exact store.
 */
export class LeasedLimitStore implements LimitStore {
  readonly exact: RedisLimitStore;
  private readonly leases = new Map<string, KeyLease>();
  /** Keys without a lease whose call for one is on its way: their requests wait for it. */
  private readonly granting = new Map<string, Promise<void>>();
  /** What this turn asks Redis, sent in the connection's next write. */
  private orders: Order[] = [];

  constructor(
    private readonly redis: RedisConnection,
    /** The share of what is left that one lease takes. */
    private readonly share: number,
  ) {
    this.exact = new RedisLimitStore(redis);
    defineLeaseCommand(redis.client);
    redis.addWriteBehind(() => this.sendOrders());
  }

  /** Tests shift the windows' clock (see RedisLimitStore). */
  get clockOffsetMs(): number {
    return this.exact.clockOffsetMs;
  }

  set clockOffsetMs(offset: number) {
    this.exact.clockOffsetMs = offset;
  }

  admit(keyName: string, limits: KeyLimits, now: number, reserve: number): Promise<Admission> {
    if (!hasLimits(limits)) return this.exact.admit(keyName, limits, now, reserve);
    const lease = this.live(keyName, limits, now);
    if (lease?.fits(reserve) === true) return Promise.resolve(this.takeFrom(keyName, lease, reserve, now));
    const unsent = this.orders.find((o) => o.grant && o.keyName === keyName && o.limits === limits);
    const granting = lease === undefined ? this.granting.get(keyName) : lease.renewing;
    if (unsent === undefined && granting !== undefined) {
      // A grant is on its way: the request waits for it rather than asking Redis itself.
      return granting.then(() => this.admit(keyName, limits, now, reserve));
    }
    return new Promise((resolve, reject) => (unsent ?? this.order(keyName, limits, lease, now)).admissions.push({ reserve, resolve, reject }));
  }

  async adjust(keyName: string, limits: KeyLimits, reservation: TokenReservation, tokens: number, now: number): Promise<Admission> {
    const lease = this.live(keyName, limits, now);
    const growth = tokens - reservation.tokens;
    if (lease !== undefined && lease.minute === reservation.minute && (growth <= 0 || lease.holds(growth))) {
      lease.carved += growth;
      return fromLease(lease, lease.view(), now);
    }
    const admission = await this.exact.adjust(keyName, limits, reservation, tokens);
    if (admission.allowed) this.leases.get(keyName)?.moved(reservation.minute, reservation.tokens, admission.minute, tokens);
    return admission;
  }

  settle(keyName: string, reservation: TokenReservation, used: number, now: number): Promise<void> {
    const lease = this.leases.get(keyName);
    if (lease !== undefined && lease.minute === reservation.minute && now < lease.expiresAt) {
      lease.settle(reservation.tokens, used);
      if (lease.low) this.renew(keyName, lease, now);
      return Promise.resolve();
    }
    return this.exact.settle(keyName, reservation, used);
  }

  count(keyName: string, now: number): void {
    this.exact.count(keyName, now);
  }

  addTokens(keyName: string, tokens: number, now: number, exact?: boolean): Promise<void> {
    return this.exact.addTokens(keyName, tokens, now, exact);
  }

  /** Redis's counts, less what this instance's lease holds and has not used. */
  async counts(keyName: string, now: number): Promise<WindowCounts> {
    const counts = await this.exact.counts(keyName);
    const lease = this.leases.get(keyName);
    if (lease === undefined || now >= lease.expiresAt) return counts;
    const [, unused, over, requests] = lease.giveBack();
    return {
      requestsThisMinute: counts.requestsThisMinute - requests,
      tokensThisMinute: counts.tokensThisMinute - unused + over,
      tokensToday: counts.tokensToday - unused + over,
    };
  }

  /** Gives every lease back, then writes what the exact store holds back. */
  async close(): Promise<void> {
    const returns: Promise<void>[] = [];
    for (const [keyName, lease] of this.leases) {
      this.leases.delete(keyName);
      returns.push(this.send(returnOrder(keyName, lease)).catch(() => undefined));
    }
    await Promise.all(returns);
    await this.exact.close();
  }

  /** The key's lease, when it is of these limits and its minute has not ended; a lease that has is given back. */
  private live(keyName: string, limits: KeyLimits, now: number): KeyLease | undefined {
    const lease = this.leases.get(keyName);
    if (lease === undefined) return undefined;
    if (lease.limits === limits && now < lease.expiresAt) return lease;
    this.retire(keyName, lease);
    return undefined;
  }

  /** Ends the key's lease. */
  private retire(keyName: string, lease: KeyLease): void {
    this.leases.delete(keyName);
    this.giveBack(keyName, lease);
  }

  /** Gives back what a lease did not use, in this turn's write (before the key's admissions of the turn). */
  private giveBack(keyName: string, lease: KeyLease): void {
    this.orders.push(returnOrder(keyName, lease));
    this.redis.sendSoon();
  }

  private takeFrom(keyName: string, lease: KeyLease, reserve: number, now: number): Admission {
    const admission = fromLease(lease, lease.take(reserve), now);
    if (lease.low) this.renew(keyName, lease, now);
    return admission;
  }

  /** Takes more for the lease in the background (and adds what requests used beyond it to Redis). */
  private renew(keyName: string, lease: KeyLease, now: number): void {
    if (lease.renewing === undefined) this.order(keyName, lease.limits, lease, now);
  }

  /** This turn's order for the key (and limits): created, and a write scheduled, when there is none. */
  private order(keyName: string, limits: KeyLimits, lease: KeyLease | undefined, now: number): Order {
    let order = this.orders.find((o) => o.grant && o.keyName === keyName && o.limits === limits);
    if (order === undefined) {
      const made: Order = { keyName, limits, admissions: [], returned: NO_RETURN, lease: undefined, grant: true, now, finished: [] };
      this.orders.push(made);
      this.redis.sendSoon();
      if (lease === undefined && !this.granting.has(keyName)) {
        const granted = new Promise<void>((resolve) => made.finished.push(resolve));
        made.finished.push(() => this.granting.delete(keyName));
        this.granting.set(keyName, granted);
      }
      order = made;
    }
    if (lease !== undefined && lease.renewing === undefined) {
      order.lease = lease;
      const renewing = new Promise<void>((resolve) => order.finished.push(resolve));
      order.finished.push(() => (lease.renewing = undefined));
      lease.renewing = renewing;
    }
    return order;
  }

  private sendOrders(): void {
    if (this.orders.length === 0) return;
    const orders = this.orders;
    this.orders = [];
    for (const order of orders) {
      const finish = (): void => {
        for (const callback of order.finished) callback();
      };
      this.send(order).then(finish, (err: unknown) => {
        for (const a of order.admissions) a.reject(err);
        finish();
      });
    }
  }

  private async send(order: Order): Promise<void> {
    const { keyName, limits, admissions, lease } = order;
    // A lease given back since this call was ordered gave back what it used beyond itself then.
    const over = lease !== undefined && this.leases.get(keyName) === lease ? lease.takeOver() : 0;
    const [minute, unused, returnedOver, requests] = order.returned;
    const call = this.redis.run((client) =>
      (client as LeaseClient)[LEASE_COMMAND](
        this.exact.key(keyName),
        this.exact.clockOffsetMs,
        limits.requestsPerMinute ?? 0,
        limits.tokensPerMinute ?? 0,
        limits.tokensPerDay ?? 0,
        order.grant ? this.share : 0,
        minute,
        unused,
        returnedOver + over,
        requests,
        ...admissions.map((a) => a.reserve),
      ),
    );
    // Redis did not take what was used beyond the lease: the lease holds it no longer.
    const reply = await call.catch((err: unknown) => {
      if (lease !== undefined) lease.tokens -= over;
      throw err;
    });
    const n = admissions.length;
    const redisNow = reply[3 * n + 5]!;
    let admitted = 0;
    let reserved = 0;
    admissions.forEach((a, i) => {
      const admission = decide(limits, counted(reply, 3 * i), redisNow);
      if (admission.allowed) {
        admitted++;
        reserved += a.reserve;
      }
      a.resolve(admission);
    });
    if (!order.grant) return;
    this.merge(order, minuteWindow(redisNow), leaseExpiry(minuteWindow(redisNow), redisNow, order.now), admitted, reserved, counted(reply, 3 * n), reply[3 * n + 3]!, reply[3 * n + 4]!);
  }

  /** Adds a reply's admissions and grant to the key's lease of that minute, or starts one (giving back one of an earlier minute). */
  private merge(order: Order, minute: number, expiresAt: number, admitted: number, reserved: number, after: WindowCounts, grantedRequests: number, grantedTokens: number): void {
    let lease = this.leases.get(order.keyName);
    if (lease !== undefined && (lease.minute !== minute || lease.limits !== order.limits)) {
      if (lease.minute > minute) {
        // A reply overtaken by a later minute's lease: its grant goes back; what it admitted settles in Redis.
        const stale = new KeyLease(order.limits, minute, 0);
        stale.add(0, 0, after, grantedRequests, grantedTokens);
        this.giveBack(order.keyName, stale);
        return;
      }
      this.retire(order.keyName, lease);
      lease = undefined;
    }
    if (lease === undefined) {
      lease = new KeyLease(order.limits, minute, expiresAt);
      this.leases.set(order.keyName, lease);
    }
    lease.add(admitted, reserved, after, grantedRequests, grantedTokens);
  }
}

/** The three counts at `at` in a lease reply. */
function counted(reply: number[], at: number): WindowCounts {
  return { requestsThisMinute: reply[at]!, tokensThisMinute: reply[at + 1]!, tokensToday: reply[at + 2]! };
}
