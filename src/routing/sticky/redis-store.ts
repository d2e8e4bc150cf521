import type { RedisClient, RedisConnection } from '../../redis/connection.js';
import type { StickyStore } from './store.js';

/**
 * GET-and-refresh, or SET the candidate: a pin in one round trip. It touches a single key, so it is safe on a
 * Redis Cluster without hash tags. (GET then EXPIRE rather than GETEX keeps Redis 6.0 and older working.)
 */
const PIN_SCRIPT = `
local pinned = redis.call('GET', KEYS[1])
if pinned then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return pinned
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
`;

const PIN_COMMAND = 'gatewayStickyPin';

type PinClient = RedisClient & {
  [PIN_COMMAND](key: string, candidate: string, ttlSeconds: number): Promise<string | null>;
};

/** Pins in Redis, shared by every gateway on it, under `<keyPrefix>pin:<pool>:<client>:<conversation>`. */
export class RedisStickyStore implements StickyStore {
  private readonly prefix: string;

  constructor(private readonly redis: RedisConnection) {
    this.prefix = `${redis.keyPrefix}pin:`;
    // EVALSHA, falling back to EVAL once per connection when Redis does not know the script yet.
    redis.client.defineCommand(PIN_COMMAND, { numberOfKeys: 1, lua: PIN_SCRIPT });
  }

  pin(key: string, candidate: string, ttlSeconds: number): Promise<string | null> {
    return this.redis.run((client) => (client as PinClient)[PIN_COMMAND](this.prefix + key, candidate, ttlSeconds));
  }

  async repin(key: string, account: string, ttlSeconds: number): Promise<void> {
    await this.redis.run((client) => client.set(this.prefix + key, account, 'EX', ttlSeconds));
  }

  /** The connection is shared and closed by its owner. */
  async close(): Promise<void> {}
}
