import type { RedisConnection } from '../redis/connection.js';
import { ADMIT_COMMAND, COUNT_COMMAND, defineLimitCommands, MOVE_COMMAND, READ_COMMAND, SETTLE_COMMAND, type Counted, type LimitClient } from './redis-scripts.js';
import { minuteWindow } from '../time-windows.js';
import { decide, hasLimits, type Admission, type KeyLimits, type LimitStore, type TokenReservation, type WindowCounts } from './limiter.js';


/**
 * How long the requests and tokens of keys without limits are added up in the process before they are
 * written to Redis, all keys in one pipelined write. Nothing is decided on those counts, so they need not
 * be exact at every moment: /admin/usage shows another instance's share of them up to this late.
 */
export const UNLIMITED_FLUSH_MS = 250;

/**
 * How long the settle of a request that ended may wait for a command going to Redis anyway (the next
 * admission, usually within a millisecond), so that it costs no write and no round trip of its own. Until
 * it is written, its key's windows hold its reservation rather than the tokens it used: most often more.
 */
export const SETTLE_DEFER_MS = 10;

/** Counts of one key not yet written to Redis. */
interface PendingCounts {
  requests: number;
  tokens: number;
  /** The gateway's minute they were counted in: a new one writes the last one's counts out at once. */
  minute: number;
}

interface QueuedAdmission {
  limits: KeyLimits;
  reserve: number;
  resolve: (admission: Admission) => void;
  reject: (err: unknown) => void;
}

interface QueuedSettle {
  reservation: TokenReservation;
  used: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A key's admissions by the limits they are decided on (the same object, but across a config reload). */
function groupByLimits(queue: QueuedAdmission[]): Map<KeyLimits, QueuedAdmission[]> {
  const groups = new Map<KeyLimits, QueuedAdmission[]>();
  for (const a of queue) {
    const group = groups.get(a.limits);
    if (group === undefined) groups.set(a.limits, [a]);
    else group.push(a);
  }
  return groups;
}

function enqueue<T>(queues: Map<string, T[]>, keyName: string, item: T): void {
  const queue = queues.get(keyName);
  if (queue === undefined) queues.set(keyName, [item]);
  else queue.push(item);
}

const windowCounts = ([requests, minuteTokens, dayTokens]: Counted): WindowCounts => ({
  requestsThisMinute: requests,
  tokensThisMinute: minuteTokens,
  tokensToday: dayTokens,
});

/**
 * Limits counted in Redis, shared by every gateway on it, in windows of Redis's own clock.
 *
 * A key with limits costs a round trip at admission (the admission script), so that every instance decides
 * on the same counts; settling its reservation when its request ends rides along with a later admission's
 * write (see {@link SETTLE_DEFER_MS}). A key without limits is
 * only counted, for /admin/usage: its requests and tokens are added up here and written every
 * {@link UNLIMITED_FLUSH_MS}, costing its requests no round trip at all.
 */
export class RedisLimitStore implements LimitStore {
  /**
   * Added to Redis's clock in every script: 0, except in tests, which set the windows' time with it
   * instead of waiting for the wall clock.
   */
  clockOffsetMs = 0;
  private readonly prefix: string;
  private readonly pending = new Map<string, PendingCounts>();
  /** Admissions asked for in this turn of the event loop, and settles not written yet, by client key: see sendBatches. */
  private admissions = new Map<string, QueuedAdmission[]>();
  private settles = new Map<string, QueuedSettle[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly redis: RedisConnection) {
    this.prefix = `${redis.keyPrefix}limit:`;
    // EVALSHA, falling back to EVAL once per connection when Redis does not know a script yet.
    defineLimitCommands(redis.client);
    redis.addWriteBehind(() => void this.sendBatches());
  }

  count(keyName: string, now: number): void {
    this.addPending(keyName, now, 1, 0);
  }

  async admit(keyName: string, limits: KeyLimits, now: number, reserve: number): Promise<Admission> {
    if (!hasLimits(limits)) {
      this.count(keyName, now);
      return decide(limits, { requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0 }, now);
    }
    return new Promise((resolve, reject) => {
      enqueue(this.admissions, keyName, { limits, reserve, resolve, reject });
      this.redis.sendSoon();
    });
  }

  async adjust(keyName: string, limits: KeyLimits, reservation: TokenReservation, tokens: number): Promise<Admission> {
    const check = tokens > reservation.tokens ? 1 : 0;
    const counted = await this.move(keyName, limits, reservation, tokens, check);
    const admission = decide({ ...limits, requestsPerMinute: undefined }, windowCounts(counted), counted[3]);
    return check === 1 ? admission : { ...admission, allowed: true, exceeded: undefined, retryAfterMs: 0 };
  }

  /** Written with the next command that goes to Redis, within {@link SETTLE_DEFER_MS} at the latest. */
  settle(keyName: string, reservation: TokenReservation, used: number): Promise<void> {
    return new Promise((resolve, reject) => {
      enqueue(this.settles, keyName, { reservation, used, resolve, reject });
      this.redis.writeWithin(SETTLE_DEFER_MS);
    });
  }

  /**
   * Sends, in the connection's next write, what requests of limited keys asked for: one settle script per
   * key for all the reservations to settle, then one admission script per key (and limits) for all its new
   * requests, decided in arrival order. Under load many requests then share one command; at any load a
   * settle costs no write of its own, and the admission after it is decided on the settled windows.
   */
  private sendBatches(): Promise<void>[] {
    if (this.admissions.size === 0 && this.settles.size === 0) return [];
    const admissions = this.admissions;
    const settles = this.settles;
    this.admissions = new Map();
    this.settles = new Map();
    const settled = [...settles].map(([keyName, queue]) => this.settleBatch(keyName, queue));
    for (const [keyName, queue] of admissions) {
      for (const [limits, group] of groupByLimits(queue)) this.admitBatch(keyName, limits, group);
    }
    return settled;
  }

  private admitBatch(keyName: string, limits: KeyLimits, batch: QueuedAdmission[]): void {
    const reserves = batch.map((a) => a.reserve);
    this.redis
      .run((client) =>
        (client as LimitClient)[ADMIT_COMMAND](
          this.key(keyName),
          this.clockOffsetMs,
          limits.requestsPerMinute ?? 0,
          limits.tokensPerMinute ?? 0,
          limits.tokensPerDay ?? 0,
          ...reserves,
        ),
      )
      .then(
        (seen) => {
          const nowMs = seen[seen.length - 1]!;
          batch.forEach((a, i) => a.resolve(decide(limits, windowCounts([seen[3 * i]!, seen[3 * i + 1]!, seen[3 * i + 2]!, nowMs]), nowMs)));
        },
        (err: unknown) => {
          for (const a of batch) a.reject(err);
        },
      );
  }

  /** Resolves once the batch is written or failed (each settle's own promise says which). */
  private settleBatch(keyName: string, batch: QueuedSettle[]): Promise<void> {
    const args = batch.flatMap(({ reservation, used }) => [reservation.minute, reservation.tokens, used]);
    return this.redis
      .run((client) => (client as LimitClient)[SETTLE_COMMAND](this.key(keyName), this.clockOffsetMs, ...args))
      .then(
        () => {
          for (const s of batch) s.resolve();
        },
        (err: unknown) => {
          for (const s of batch) s.reject(err);
        },
      );
  }

  /** With `exact` (the default), resolves once the tokens are in Redis; else they are written within {@link UNLIMITED_FLUSH_MS}. */
  async addTokens(keyName: string, tokens: number, now: number, exact = true): Promise<void> {
    if (!exact) {
      this.addPending(keyName, now, 0, tokens);
      return;
    }
    await this.write(keyName, 0, tokens);
  }

  /** The counts in Redis, plus those this instance has not written yet. */
  async counts(keyName: string): Promise<WindowCounts> {
    const counts = windowCounts(await this.redis.run((client) => (client as LimitClient)[READ_COMMAND](this.key(keyName), this.clockOffsetMs)));
    const pending = this.pending.get(keyName);
    if (pending !== undefined) {
      counts.requestsThisMinute += pending.requests;
      counts.tokensThisMinute += pending.tokens;
      counts.tokensToday += pending.tokens;
    }
    return counts;
  }

  /** Writes the counts not written yet. (The connection is shared and closed by its owner.) */
  async close(): Promise<void> {
    await Promise.all(this.sendBatches());
    await this.flush();
  }

  /**
   * Writes every pending count now, one command per key, pipelined. Counts that cannot be written (Redis is
   * down) are dropped, as the requests of a limited key are not counted while Redis is away: the connection
   * logs the outage once, and counting resumes with it.
   */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const writes = [...this.pending].map(([keyName, counts]) => this.write(keyName, counts.requests, counts.tokens).catch(() => undefined));
    this.pending.clear();
    await Promise.all(writes);
  }

  private addPending(keyName: string, now: number, requests: number, tokens: number): void {
    const minute = minuteWindow(now);
    let counts = this.pending.get(keyName);
    if (counts !== undefined && counts.minute !== minute) {
      // A new minute: the last one's counts go out now, before this one's are added up.
      this.pending.delete(keyName);
      this.write(keyName, counts.requests, counts.tokens).catch(() => undefined);
      counts = undefined;
    }
    if (counts === undefined) {
      counts = { requests: 0, tokens: 0, minute };
      this.pending.set(keyName, counts);
    }
    counts.requests += requests;
    counts.tokens += tokens;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), UNLIMITED_FLUSH_MS);
      this.timer.unref();
    }
  }

  private move(keyName: string, limits: KeyLimits, reservation: TokenReservation, add: number, check: 0 | 1): Promise<Counted> {
    return this.redis.run((client) =>
      (client as LimitClient)[MOVE_COMMAND](
        this.key(keyName),
        this.clockOffsetMs,
        limits.tokensPerMinute ?? 0,
        limits.tokensPerDay ?? 0,
        reservation.minute,
        reservation.tokens,
        add,
        check,
      ),
    );
  }

  private async write(keyName: string, requests: number, tokens: number): Promise<void> {
    await this.redis.run((client) => (client as LimitClient)[COUNT_COMMAND](this.key(keyName), this.clockOffsetMs, requests, tokens));
  }

  /**
   * One hash per client key (the leased store names the same one). The name is a config name, never a
   * client's input.
   */
  key(keyName: string): string {
    return `${this.prefix}{${keyName}}`;
  }
}
