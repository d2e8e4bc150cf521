import { z } from 'zod';

const positiveInt = z.number().int().positive();

/** Settings every Redis variant shares. */
const redisCommon = {
  /**
   * Longest a request waits on Redis before it is routed without it. Measured from the gateway's side, so
   * it includes this process's event-loop lag: a gateway at full CPU saw commands take up to 435 ms against
   * a healthy Redis (docs/sticky-routing.md, "Why 500 ms"); 500 ms is not spent on a Redis that is fine.
   */
  timeoutMs: positiveInt.default(500),
  /** Once failures pile up (the circuit breaker opens), how long Redis is not asked at all before one probe. */
  breakerMs: positiveInt.default(2_000),
  /** Put before every key the gateway writes, so several gateways (or other apps) can share one Redis. */
  keyPrefix: z.string().default('gw:'),
};

const redisUrlSchema = z.strictObject({ url: z.string().min(1), ...redisCommon });

export const redisSchema = z.union([
  redisUrlSchema,
  /** Startup nodes of a Redis Cluster; the rest of the cluster is discovered from them. */
  z.strictObject({ cluster: z.array(z.string().min(1)).min(1), ...redisCommon }),
  z.strictObject({
    sentinels: z.array(z.strictObject({ host: z.string().min(1), port: positiveInt })).min(1),
    /** The master group name the sentinels watch. */
    name: z.string().min(1),
    password: z.string().optional(),
    ...redisCommon,
  }),
]);

/** The Redis settings for a bare URL (`REDIS_URL`), with every default filled in. */
export function redisFromUrl(url: string): z.infer<typeof redisUrlSchema> {
  return redisUrlSchema.parse({ url });
}
