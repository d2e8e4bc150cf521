import type { RedisClient, RedisConnection } from '../redis/connection.js';
import { DAY_MS, decide, dayWindow, minuteWindow, type Admission, type KeyLimits, type LimitStore, type WindowCounts } from './limiter.js';

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

const ADMIT_COMMAND = 'gatewayLimitAdmit';
/** A minute window's counts outlive the minute a little, for /admin/usage read just after it. */
const MINUTE_KEY_TTL_MS = 120_000;
const DAY_KEY_TTL_MS = 2 * DAY_MS;

type AdmitClient = RedisClient & {
  [ADMIT_COMMAND](minuteKey: string, dayKey: string, rpm: number, tpm: number, tpd: number, ttlMs: number): Promise<[number, number, number]>;
};

/** Limits counted in Redis, shared by every gateway on it. */
export class RedisLimitStore implements LimitStore {
  private readonly prefix: string;

  constructor(private readonly redis: RedisConnection) {
    this.prefix = `${redis.keyPrefix}limit:`;
    redis.client.defineCommand(ADMIT_COMMAND, { numberOfKeys: 2, lua: ADMIT_SCRIPT });
  }

  async admit(keyName: string, limits: KeyLimits, now: number): Promise<Admission> {
    const [requests, minuteTokens, dayTokens] = await this.redis.run((client) =>
      (client as AdmitClient)[ADMIT_COMMAND](
        this.minuteKey(keyName, now),
        this.dayKey(keyName, now),
        limits.requestsPerMinute ?? 0,
        limits.tokensPerMinute ?? 0,
        limits.tokensPerDay ?? 0,
        MINUTE_KEY_TTL_MS,
      ),
    );
    return decide(limits, { requestsThisMinute: requests, tokensThisMinute: minuteTokens, tokensToday: dayTokens }, now);
  }

  async addTokens(keyName: string, tokens: number, now: number): Promise<void> {
    const minuteKey = this.minuteKey(keyName, now);
    const dayKey = this.dayKey(keyName, now);
    await this.redis.run((client) =>
      client
        .multi()
        .hincrby(minuteKey, 't', tokens)
        .pexpire(minuteKey, MINUTE_KEY_TTL_MS)
        .incrby(dayKey, tokens)
        .pexpire(dayKey, DAY_KEY_TTL_MS)
        .exec(),
    );
  }

  async counts(keyName: string, now: number): Promise<WindowCounts> {
    const minuteKey = this.minuteKey(keyName, now);
    const dayKey = this.dayKey(keyName, now);
    const [minute, day] = await this.redis.run(async (client) => Promise.all([client.hmget(minuteKey, 'r', 't'), client.get(dayKey)]));
    return { requestsThisMinute: Number(minute[0] ?? 0), tokensThisMinute: Number(minute[1] ?? 0), tokensToday: Number(day ?? 0) };
  }

  /** The connection is shared and closed by its owner. */
  async close(): Promise<void> {}

  private minuteKey(keyName: string, now: number): string {
    return `${this.prefix}{${keyName}}:m:${minuteWindow(now)}`;
  }

  private dayKey(keyName: string, now: number): string {
    return `${this.prefix}{${keyName}}:d:${dayWindow(now)}`;
  }
}
