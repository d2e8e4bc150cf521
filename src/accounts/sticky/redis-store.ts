import type { RedisClient, RedisConnection } from '../../redis/connection.js';
import type { StickyStore } from './store.js';

/**
 * GET-and-refresh: a pin's lookup in one round trip, which writes no new pin. It touches a single key, so it
 * is safe on a Redis Cluster without hash tags. (GET then EXPIRE rather than GETEX keeps Redis 6.0 and older
 * working.)
 */
const GET_SCRIPT = `
local pinned = redis.call('GET', KEYS[1])
if pinned then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return pinned
`;

/**
 * A client key's pins, by last use (Redis's clock): adds or refreshes pin ARGV[1], forgets the ones whose
 * TTL (ARGV[2] s) has passed, and pops the least recently used beyond ARGV[3], returning them for the caller
 * to delete (on a Cluster they live in other slots than this index, so the script cannot).
 */
const INDEX_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttlMs = tonumber(ARGV[2]) * 1000
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttlMs)
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
local dropped = {}
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], over)
  for i = 1, #popped, 2 do dropped[#dropped + 1] = popped[i] end
end
redis.call('PEXPIRE', KEYS[1], ttlMs)
return dropped
`;

const GET_COMMAND = 'gatewayStickyGet';
const INDEX_COMMAND = 'gatewayStickyIndex';

type PinClient = RedisClient & {
  [GET_COMMAND](key: string, ttlSeconds: number): Promise<string | null>;
  [INDEX_COMMAND](indexKey: string, pinKey: string, ttlSeconds: number, maxPins: number): Promise<string[]>;
};

/**
 * Pins in Redis, shared by every gateway on it, under `<keyPrefix>pin:<pool>:<client>:<sha256 of the id>`;
 * each client key's pins are listed by last use in `<keyPrefix>pins:<client>`, which holds at most
 * `maxPinsPerKey` of them: the least recently used beyond that are deleted.
 */
export class RedisStickyStore implements StickyStore {
  private readonly prefix: string;
  /** Lookups on their way to Redis, by pin. */
  private readonly lookups = new Map<string, Promise<string | null>>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly maxPinsPerKey: number,
  ) {
    this.prefix = redis.keyPrefix;
    // EVALSHA, falling back to EVAL once per connection when Redis does not know the script yet.
    redis.client.defineCommand(GET_COMMAND, { numberOfKeys: 1, lua: GET_SCRIPT });
    redis.client.defineCommand(INDEX_COMMAND, { numberOfKeys: 1, lua: INDEX_SCRIPT });
  }

  /**
   * A lookup of a pin whose lookup is already on its way shares it: requests of one conversation sent at
   * the same time (an agent's parallel calls) cost one command, and get the answer any of them would have.
   */
  get(key: string, ttlSeconds: number): Promise<string | null> {
    const pending = this.lookups.get(key);
    if (pending !== undefined) return pending;
    const lookup = this.redis.run((client) => (client as PinClient)[GET_COMMAND](this.pinKey(key), ttlSeconds));
    this.lookups.set(key, lookup);
    const done = (): void => {
      this.lookups.delete(key);
    };
    lookup.then(done, done);
    return lookup;
  }

  async set(key: string, account: string, ttlSeconds: number, client: string): Promise<void> {
    await this.redis.run((redis) => redis.set(this.pinKey(key), account, 'EX', ttlSeconds));
    await this.touch(key, ttlSeconds, client);
  }

  async touch(key: string, ttlSeconds: number, client: string): Promise<void> {
    const dropped = await this.redis.run((redis) =>
      (redis as PinClient)[INDEX_COMMAND](`${this.prefix}pins:${client}`, this.pinKey(key), ttlSeconds, this.maxPinsPerKey),
    );
    // One key per command: on a Cluster the dropped pins live in many slots.
    await Promise.all(dropped.map((pinKey) => this.redis.run((redis) => redis.unlink(pinKey))));
  }

  /** The connection is shared and closed by its owner. */
  async close(): Promise<void> {}

  private pinKey(key: string): string {
    return `${this.prefix}pin:${key}`;
  }
}
