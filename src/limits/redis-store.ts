import type { RedisClient, RedisConnection } from '../redis/connection.js';
import {
  DAY_MS,
  decide,
  dayWindow,
  hasLimits,
  MINUTE_MS,
  minuteWindow,
  type Admission,
  type KeyLimits,
  type LimitStore,
  type WindowCounts,
} from './limiter.js';

/**
 * Reads the key's minute and day counts and, when no limit is spent, counts the request: atomically, so
 * that any number of gateways share one count. The rule mirrors `decide`, which then builds the headers
 * from the same counts. Both keys carry the client key's name as a hash tag, so on a Redis Cluster they
 * share a slot and the script may touch them together. ARGV[5] is the tokens this instance has counted
 * for the key and not written yet (see LIMITED_FLUSH_MS): they count as spent.
 */
const ADMIT_SCRIPT = `
local requests = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local minuteTokens = tonumber(redis.call('HGET', KEYS[1], 't') or '0') + tonumber(ARGV[5])
local dayTokens = tonumber(redis.call('GET', KEYS[2]) or '0') + tonumber(ARGV[5])
local rpm, tpm, tpd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if (rpm > 0 and requests >= rpm) or (tpm > 0 and minuteTokens >= tpm) or (tpd > 0 and dayTokens >= tpd) then
  return {requests, minuteTokens, dayTokens}
end
redis.call('HINCRBY', KEYS[1], 'r', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {requests, minuteTokens, dayTokens}
`;

/**
 * Adds requests (ARGV[1]) and tokens (ARGV[2]) to a key's minute and day counts. One command rather than a
 * MULTI of four, so it is auto-pipelined with whatever else the connection sends in the same turn.
 */
const COUNT_SCRIPT = `
local requests, tokens = tonumber(ARGV[1]), tonumber(ARGV[2])
if requests > 0 then redis.call('HINCRBY', KEYS[1], 'r', requests) end
if tokens > 0 then redis.call('HINCRBY', KEYS[1], 't', tokens) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if tokens > 0 then
  redis.call('INCRBY', KEYS[2], tokens)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1
`;

const ADMIT_COMMAND = 'gatewayLimitAdmit';
const COUNT_COMMAND = 'gatewayLimitCount';
/** A minute window's counts outlive the minute a little, for /admin/usage read just after it. */
const MINUTE_KEY_TTL_MS = 120_000;
const DAY_KEY_TTL_MS = 2 * DAY_MS;

/**
 * How long the requests and tokens of keys without limits are added up in the process before they are
 * written to Redis, all keys in one pipelined write. Nothing is decided on those counts, so they need not
 * be exact at every moment: /admin/usage shows another instance's share of them up to this late.
 */
export const UNLIMITED_FLUSH_MS = 250;

/**
 * How long the tokens of finished requests of keys with limits are added up before they are written: under
 * load, the requests of a key that finish within these milliseconds cost one command instead of one each.
 * Their next request is decided on them this much later than it would be otherwise, which is of the order
 * of the round trip that writing them takes anyway.
 */
export const LIMITED_FLUSH_MS = 5;

type LimitClient = RedisClient & {
  [ADMIT_COMMAND](minuteKey: string, dayKey: string, rpm: number, tpm: number, tpd: number, ttlMs: number, unwrittenTokens: number): Promise<[number, number, number]>;
  [COUNT_COMMAND](minuteKey: string, dayKey: string, requests: number, tokens: number, minuteTtlMs: number, dayTtlMs: number): Promise<number>;
};

/** Counts of one key for one minute window, not yet written to Redis. */
interface PendingCounts {
  readonly keyName: string;
  readonly minute: number;
  requests: number;
  tokens: number;
  /** Settled once the counts are written, for those who wait for that. */
  written: { promise: Promise<void>; resolve(): void; reject(err: unknown): void } | undefined;
}

const NOTHING_SPENT: Readonly<WindowCounts> = Object.freeze({ requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0 });
const ignore = (): void => {};

/** Counts added up in the process for `delayMs`, then written together: one command per key (and minute). */
class CountBatch {
  private readonly pending = new Map<string, PendingCounts>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    void this.flush();
  };

  constructor(
    private readonly delayMs: number,
    private readonly write: (counts: PendingCounts) => Promise<void>,
  ) {}

  add(keyName: string, now: number, requests: number, tokens: number): PendingCounts {
    const minute = minuteWindow(now);
    let counts = this.pending.get(keyName);
    if (counts !== undefined && counts.minute !== minute) {
      // A new minute (and perhaps a new day): the last one's counts go out now, to their own keys.
      void this.writeOut(counts);
      counts = undefined;
    }
    if (counts === undefined) {
      counts = { keyName, minute, requests: 0, tokens: 0, written: undefined };
      this.pending.set(keyName, counts);
    }
    counts.requests += requests;
    counts.tokens += tokens;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.delayMs);
      this.timer.unref();
    }
    return counts;
  }

  /** What is waiting for `keyName` in minute `minute`. */
  waiting(keyName: string, minute: number): PendingCounts | undefined {
    const counts = this.pending.get(keyName);
    return counts !== undefined && counts.minute === minute ? counts : undefined;
  }

  /** Writes everything now, in one pipelined write per Redis node. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.size === 0) return Promise.resolve();
    const writes: Promise<void>[] = [];
    for (const counts of this.pending.values()) writes.push(this.writeOut(counts));
    this.pending.clear();
    return Promise.all(writes).then(ignore);
  }

  /**
   * Counts that cannot be written (Redis is down) are dropped, as the requests of a limited key are not
   * counted while Redis is away: the connection logs the outage once, and counting resumes with it. Whoever
   * waits for them is told.
   */
  private writeOut(counts: PendingCounts): Promise<void> {
    return this.write(counts).then(
      () => counts.written?.resolve(),
      (err: unknown) => counts.written?.reject(err),
    );
  }
}

/** Settles once `counts` are written: rejected when they could not be. */
function whenWritten(counts: PendingCounts): Promise<void> {
  if (counts.written === undefined) {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    counts.written = { promise, resolve, reject };
  }
  return counts.written.promise;
}

/**
 * Limits counted in Redis, shared by every gateway on it.
 *
 * A key with limits costs a round trip per request (the admission script), and its finished requests'
 * tokens are written within {@link LIMITED_FLUSH_MS}, so that every instance decides on the same counts. A
 * key without limits is only counted, for /admin/usage: its requests and tokens are added up here and
 * written every {@link UNLIMITED_FLUSH_MS}, costing its requests no round trip at all.
 */
export class RedisLimitStore implements LimitStore {
  private readonly prefix: string;
  private readonly limited: CountBatch;
  private readonly unlimited: CountBatch;

  constructor(private readonly redis: RedisConnection) {
    this.prefix = `${redis.keyPrefix}limit:`;
    redis.client.defineCommand(ADMIT_COMMAND, { numberOfKeys: 2, lua: ADMIT_SCRIPT });
    redis.client.defineCommand(COUNT_COMMAND, { numberOfKeys: 2, lua: COUNT_SCRIPT });
    const write = (counts: PendingCounts): Promise<void> => this.write(counts.keyName, counts.minute, counts.requests, counts.tokens);
    this.limited = new CountBatch(LIMITED_FLUSH_MS, write);
    this.unlimited = new CountBatch(UNLIMITED_FLUSH_MS, write);
  }

  count(keyName: string, now: number): void {
    this.unlimited.add(keyName, now, 1, 0);
  }

  async admit(keyName: string, limits: KeyLimits, now: number): Promise<Admission> {
    if (!hasLimits(limits)) {
      this.count(keyName, now);
      return decide(limits, NOTHING_SPENT, now);
    }
    const minute = minuteWindow(now);
    // Tokens already written (or on their way, ahead of this command on the same connection) are in Redis;
    // those still waiting here are passed along, so this instance decides as if they were written.
    const unwritten = this.limited.waiting(keyName, minute)?.tokens ?? 0;
    const [requests, minuteTokens, dayTokens] = await this.redis.run((client) =>
      (client as LimitClient)[ADMIT_COMMAND](
        this.minuteKey(keyName, minute),
        this.dayKey(keyName, minute),
        limits.requestsPerMinute ?? 0,
        limits.tokensPerMinute ?? 0,
        limits.tokensPerDay ?? 0,
        MINUTE_KEY_TTL_MS,
        unwritten,
      ),
    );
    return decide(limits, { requestsThisMinute: requests, tokensThisMinute: minuteTokens, tokensToday: dayTokens }, now);
  }

  /** With `exact` (the default), resolves once the tokens are in Redis, within {@link LIMITED_FLUSH_MS}. */
  addTokens(keyName: string, tokens: number, now: number, exact = true): Promise<void> {
    if (!exact) {
      this.unlimited.add(keyName, now, 0, tokens);
      return Promise.resolve();
    }
    return whenWritten(this.limited.add(keyName, now, 0, tokens));
  }

  /**
   * The counts in Redis, plus those of a key without limits that this instance has not written yet. (The
   * tokens of a key with limits waiting here are not added: the report shows what every instance decides on.)
   */
  async counts(keyName: string, now: number): Promise<WindowCounts> {
    const minute = minuteWindow(now);
    const minuteKey = this.minuteKey(keyName, minute);
    const dayKey = this.dayKey(keyName, minute);
    const [stored, day] = await this.redis.run(async (client) => Promise.all([client.hmget(minuteKey, 'r', 't'), client.get(dayKey)]));
    const counts = { requestsThisMinute: Number(stored[0] ?? 0), tokensThisMinute: Number(stored[1] ?? 0), tokensToday: Number(day ?? 0) };
    const pending = this.unlimited.waiting(keyName, minute);
    if (pending !== undefined) {
      counts.requestsThisMinute += pending.requests;
      counts.tokensThisMinute += pending.tokens;
      counts.tokensToday += pending.tokens;
    }
    return counts;
  }

  /** Writes the counts not written yet. (The connection is shared and closed by its owner.) */
  async close(): Promise<void> {
    await Promise.all([this.limited.flush(), this.unlimited.flush()]);
  }

  /** Writes every pending count now. */
  flush(): Promise<void> {
    return Promise.all([this.limited.flush(), this.unlimited.flush()]).then(ignore);
  }

  private async write(keyName: string, minute: number, requests: number, tokens: number): Promise<void> {
    await this.redis.run((client) =>
      (client as LimitClient)[COUNT_COMMAND](
        this.minuteKey(keyName, minute),
        this.dayKey(keyName, minute),
        requests,
        tokens,
        MINUTE_KEY_TTL_MS,
        DAY_KEY_TTL_MS,
      ),
    );
  }

  private minuteKey(keyName: string, minute: number): string {
    return `${this.prefix}{${keyName}}:m:${minute}`;
  }

  private dayKey(keyName: string, minute: number): string {
    return `${this.prefix}{${keyName}}:d:${dayWindow(minute * MINUTE_MS)}`;
  }
}
