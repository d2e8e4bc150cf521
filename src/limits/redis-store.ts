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
 * share a slot and the script may touch them together.
 */
const ADMIT_SCRIPT = `
local requests = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local minuteTokens = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local dayTokens = tonumber(redis.call('GET', KEYS[2]) or '0')
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

type LimitClient = RedisClient & {
  [ADMIT_COMMAND](minuteKey: string, dayKey: string, rpm: number, tpm: number, tpd: number, ttlMs: number): Promise<[number, number, number]>;
  [COUNT_COMMAND](minuteKey: string, dayKey: string, requests: number, tokens: number, minuteTtlMs: number, dayTtlMs: number): Promise<number>;
};

/** Counts of a key without limits, not yet written to Redis, for one minute window. */
interface PendingCounts {
  readonly keyName: string;
  readonly minute: number;
  requests: number;
  tokens: number;
}

const NOTHING_SPENT: Readonly<WindowCounts> = Object.freeze({ requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0 });
const ignore = (): void => {};

/**
 * Limits counted in Redis, shared by every gateway on it.
 *
 * A key with limits costs a round trip per request (the admission script) and one per finished request
 * (its tokens), so that every instance decides on the same, exact counts. A key without limits is only
 * counted, for /admin/usage: its requests and tokens are added up here and written every
 * {@link UNLIMITED_FLUSH_MS}, costing its requests no round trip at all.
 */
export class RedisLimitStore implements LimitStore {
  private readonly prefix: string;
  private readonly pending = new Map<string, PendingCounts>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly redis: RedisConnection) {
    this.prefix = `${redis.keyPrefix}limit:`;
    redis.client.defineCommand(ADMIT_COMMAND, { numberOfKeys: 2, lua: ADMIT_SCRIPT });
    redis.client.defineCommand(COUNT_COMMAND, { numberOfKeys: 2, lua: COUNT_SCRIPT });
  }

  async admit(keyName: string, limits: KeyLimits, now: number): Promise<Admission> {
    if (!hasLimits(limits)) {
      this.countLater(keyName, now, 1, 0);
      return decide(limits, NOTHING_SPENT, now);
    }
    const minute = minuteWindow(now);
    const [requests, minuteTokens, dayTokens] = await this.redis.run((client) =>
      (client as LimitClient)[ADMIT_COMMAND](
        this.minuteKey(keyName, minute),
        this.dayKey(keyName, minute),
        limits.requestsPerMinute ?? 0,
        limits.tokensPerMinute ?? 0,
        limits.tokensPerDay ?? 0,
        MINUTE_KEY_TTL_MS,
      ),
    );
    return decide(limits, { requestsThisMinute: requests, tokensThisMinute: minuteTokens, tokensToday: dayTokens }, now);
  }

  async addTokens(keyName: string, tokens: number, now: number, exact = true): Promise<void> {
    if (!exact) {
      this.countLater(keyName, now, 0, tokens);
      return;
    }
    await this.write(keyName, minuteWindow(now), 0, tokens);
  }

  /** The counts in Redis, plus what this instance has counted and not written yet. */
  async counts(keyName: string, now: number): Promise<WindowCounts> {
    const minute = minuteWindow(now);
    const minuteKey = this.minuteKey(keyName, minute);
    const dayKey = this.dayKey(keyName, minute);
    const [stored, day] = await this.redis.run(async (client) => Promise.all([client.hmget(minuteKey, 'r', 't'), client.get(dayKey)]));
    const counts = { requestsThisMinute: Number(stored[0] ?? 0), tokensThisMinute: Number(stored[1] ?? 0), tokensToday: Number(day ?? 0) };
    const pending = this.pending.get(keyName);
    if (pending !== undefined && pending.minute === minute) {
      counts.requestsThisMinute += pending.requests;
      counts.tokensThisMinute += pending.tokens;
      counts.tokensToday += pending.tokens;
    }
    return counts;
  }

  /** Writes the counts not written yet. (The connection is shared and closed by its owner.) */
  async close(): Promise<void> {
    await this.flush();
  }

  /** Writes every pending count now, in one pipelined write per Redis node. */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const writes: Promise<void>[] = [];
    for (const counts of this.pending.values()) writes.push(this.writePending(counts));
    this.pending.clear();
    return Promise.all(writes).then(ignore);
  }

  private countLater(keyName: string, now: number, requests: number, tokens: number): void {
    const minute = minuteWindow(now);
    let counts = this.pending.get(keyName);
    if (counts !== undefined && counts.minute !== minute) {
      // A new minute (and perhaps a new day): the last one's counts go out now, to their own keys.
      void this.writePending(counts);
      counts = undefined;
    }
    if (counts === undefined) {
      counts = { keyName, minute, requests: 0, tokens: 0 };
      this.pending.set(keyName, counts);
    }
    counts.requests += requests;
    counts.tokens += tokens;
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => void this.flush(), UNLIMITED_FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  /**
   * Counts that cannot be written (Redis is down) are dropped, as the requests of a limited key are not
   * counted while Redis is away: the connection logs the outage once, and counting resumes with it.
   */
  private writePending(counts: PendingCounts): Promise<void> {
    return this.write(counts.keyName, counts.minute, counts.requests, counts.tokens).catch(ignore);
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
