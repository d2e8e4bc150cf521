import { z } from 'zod';
import { pricingSchema } from '../spend/pricing.js';
import { redisSchema } from './redis-schema.js';

/** Names become metric labels and log fields, so they are kept to a safe, bounded alphabet. */
export const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');
const name = nameSchema;

const positiveInt = z.number().int().positive();

/** What a model does, which decides the endpoints that take it. */
export const MODEL_KINDS = ['chat', 'messages', 'image', 'embedding', 'completion', 'moderation', 'transcription', 'speech'] as const;

/** What can carry a conversation's identity, in the default order of `sticky.sources`. */
export const STICKY_SOURCES = ['x-conversation-id', 'x-claude-code-session-id', 'metadata.user_id', 'prompt_cache_key', 'session_id'] as const;
export type StickySource = (typeof STICKY_SOURCES)[number];
/** Headers that frame the HTTP message: the gateway (and undici) set them, an account may not. */
const FRAMING_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'te', 'trailer', 'upgrade', 'expect', 'proxy-connection']);

const upstreamHeaderName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name')
  .refine((header) => !FRAMING_HEADERS.has(header.toLowerCase()), 'is set by the gateway itself');

/** A header value as HTTP allows it: visible characters, spaces and tabs, no line breaks. */
const upstreamHeaderValue = z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'must not hold control characters or line breaks');

const accountSchema = z.strictObject({
  name,
  apiKey: z.string().min(1, 'must not be empty (is its environment variable set?)'),
  weight: z.number().positive().default(1),
  /** Sent as `OpenAI-Organization` on this account's requests. */
  organization: z.string().min(1).pipe(upstreamHeaderValue).optional(),
  /** Sent as `OpenAI-Project` on this account's requests. */
  project: z.string().min(1).pipe(upstreamHeaderValue).optional(),
  /** Fixed headers added to this account's requests (Azure's `api-key`, say); their values are treated as secrets. */
  headers: z.record(upstreamHeaderName, upstreamHeaderValue).optional(),
});

const upstreamSchema = z.strictObject({
  name,
  /**
   * The API the upstream speaks: `anthropic` sends each account's key as `x-api-key` and forwards the
   * client's `anthropic-version` (default 2023-06-01) and `anthropic-beta`.
   */
  api: z.enum(['openai', 'anthropic']).default('openai'),
  baseUrl: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')),
  models: z.array(z.string().min(1)).min(1).default(['*']),
  accounts: z.array(accountSchema).min(1),
  /** Prices of models served through this pool, by catalog id: they win over the catalog's for this pool. */
  pricing: z.record(z.string().min(1), pricingSchema).optional(),
});

export const limitsSchema = z.strictObject({
  requestsPerMinute: positiveInt.optional(),
  tokensPerMinute: positiveInt.optional(),
  tokensPerDay: positiveInt.optional(),
  /** Answer tokens a request reserves against the token limits when its body names no max_tokens (default 1,000). */
  reserveTokens: positiveInt.optional(),
  /** Spend budgets in US dollars per UTC day and UTC calendar month. */
  usdPerDay: z.number().positive().finite().optional(),
  usdPerMonth: z.number().positive().finite().optional(),
});

/** A secret given only as its SHA-256, so the config holds nothing that opens the gateway. */
const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters')
  .transform((hex) => hex.toLowerCase());

const clientKeySchema = z
  .strictObject({
    name,
    key: z.string().min(1, 'must not be empty (is its environment variable set?)').optional(),
    keySha256: sha256Hex.optional(),
    models: z.array(z.string().min(1)).optional(),
    limits: limitsSchema.optional(),
    /** One of `teams[]`: its model list narrows the key's. */
    team: name.optional(),
  })
  .refine((key) => (key.key === undefined) !== (key.keySha256 === undefined), {
    message: 'give exactly one of "key" or "keySha256"',
  });

/** Keys as a service (docs/keys.md): the store, admin credentials and config teams. */
export const teamSchema = z.strictObject({
  name,
  models: z.array(z.string().min(1)).optional(),
  limits: limitsSchema.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const adminSchema = z
  .strictObject({
    name,
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    tokenSha256: sha256Hex.optional(),
    /** A viewer reads only; least privilege when unsaid. */
    role: z.enum(['admin', 'viewer']).default('viewer'),
  })
  .refine((admin) => (admin.token === undefined) !== (admin.tokenSha256 === undefined), { message: 'give exactly one of "token" or "tokenSha256"' });

const databaseSchema = z.strictObject({
  /** A shared PostgreSQL; empty (an unset `${DATABASE_URL}`) means the embedded store in `path`. */
  url: z.preprocess((value) => (value === '' ? undefined : value), z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
  path: z.string().min(1).default('./data'),
  usageRetentionDays: positiveInt.default(400),
});

const catalogEntrySchema = z.strictObject({
  id: z.string().min(1),
  kind: z.enum(MODEL_KINDS),
  ownedBy: z.string().default('gateway'),
  /** The name Anthropic's models list shows (`display_name`); the id when not given. */
  displayName: z.string().min(1).optional(),
  /** Largest `n` the model accepts on the images endpoint. */
  maxImagesPerRequest: positiveInt.optional(),
  pricing: pricingSchema.optional(),
});

export const configSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Most client connections open at once; more are closed on arrival. Default: half the file limit (see server/connections.ts). */
        maxConnections: positiveInt.optional(),
      })
      .prefault({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    allowUnauthenticated: z.boolean().default(false),
    /**
     * Bearer token for GET /admin/usage; without it the route answers 404. An empty value (`${ADMIN_TOKEN}`
     * with the variable unset) counts as absent, so the documented example starts with the endpoint off.
     */
    adminToken: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(16, 'must be at least 16 characters').optional()),
    admins: z.array(adminSchema).default([]),
    teams: z.array(teamSchema).default([]),
    /** Where API keys, teams, the admin audit and the usage ledger live; see docs/keys.md. */
    database: databaseSchema.optional(),
    bodyLimitBytes: positiveInt.default(25 * 1024 * 1024),
    /** Bounds on the gateway as a whole (a client key's own limits are `clientKeys[].limits`). */
    limits: z
      .strictObject({
        /** Request body bytes held in memory across all requests; past it, new uploads get 503 `server_busy`. */
        bufferedBodyBytes: positiveInt.default(512 * 1024 * 1024),
        /**
         * How a key's limits and budgets admit a request with Redis: `exact` asks Redis for every request;
         * `lease` admits from a share of the key's allowance this instance holds in Redis (see
         * docs/limits-and-budgets.md, "Leased admission").
         */
        admission: z.enum(['exact', 'lease']).default('exact'),
        lease: z
          .strictObject({
            /** The share of a window's remaining allowance (requests, tokens, dollars) one lease takes. */
            share: z.number().positive().max(1).default(0.1),
            /** How long the costs of ended requests wait in the lease before they are written to Redis. */
            flushMs: positiveInt.default(1_000),
          })
          .prefault({}),
      })
      .prefault({}),
    timeouts: z
      .strictObject({
        /** Until the upstream's response headers arrive; reasoning models think long. */
        upstreamMs: positiveInt.default(10 * 60_000),
        /** Longest silence allowed inside a streamed (or plain) response body. */
        streamIdleMs: positiveInt.default(2 * 60_000),
        /** Longest time a client may take to send its request. */
        clientBodyMs: positiveInt.default(60_000),
        /** Longest time a client may take to send its request headers (capped at clientBodyMs). */
        headersMs: positiveInt.default(10_000),
      })
      .prefault({}),
    retry: z.strictObject({ maxAttempts: z.number().int().min(1).max(10).default(3) }).prefault({}),
    health: z
      .strictObject({
        /** Rest for an account after a 429, 5xx or connection failure that gives no Retry-After. */
        cooldownMs: positiveInt.default(10_000),
        /** Rest for an account whose key the upstream refused (401/403). */
        badKeyCooldownMs: positiveInt.default(10 * 60_000),
      })
      .prefault({}),
    shutdown: z.strictObject({ drainMs: positiveInt.default(30_000) }).prefault({}),
    sticky: z
      .strictObject({
        /** How long a conversation stays pinned to its account after its last request. */
        ttlSeconds: positiveInt.default(24 * 60 * 60),
        /** Most pins the in-memory store keeps (least recently used go first); also bounds the local copy kept beside Redis. */
        maxEntries: positiveInt.default(100_000),
        /**
         * Where a request's conversation is read from, first match wins: the `X-Conversation-Id` header, Claude
         * Code's session header, the Messages body's `metadata.user_id`, the body's `prompt_cache_key`, an
         * agent's session header (`session_id` / `session-id`).
         */
        sources: z.array(z.enum(STICKY_SOURCES)).default([...STICKY_SOURCES]),
        /** Most live pins one client key holds in Redis; beyond it, its least recently used pins are dropped. */
        maxPinsPerKey: positiveInt.default(100_000),
        /**
         * Where a conversation request reads its pin before routing, beside Redis: `shared` waits for Redis's
         * answer (every gateway follows a moved pin at once); `local` routes at once to the pin this gateway's
         * local copy holds, and reads Redis after the request was served, so a pin another gateway moved is
         * followed from the next request on (docs/sticky-routing.md, "Pin reads").
         */
        pinReads: z.enum(['shared', 'local']).default('shared'),
      })
      .prefault({}),
    catalogFile: z.string().optional(),
    models: z.array(catalogEntrySchema).default([]),
    clientKeys: z.array(clientKeySchema).default([]),
    upstreams: z.array(upstreamSchema).min(1),
    redis: redisSchema.optional(),
    metrics: z
      .strictObject({
        /** Serve Prometheus metrics and count requests; off means neither. */
        enabled: z.boolean().default(true),
        /** When set, a scrape must send `Authorization: Bearer <token>`; client keys do not open it. */
        bearerToken: z.string().min(1, 'must not be empty (is its environment variable set?)').optional(),
        path: z
          .string()
          .regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, 'must be a path such as /metrics')
          .refine((path) => path !== '/healthz' && path !== '/v1' && !path.startsWith('/v1/'), 'must not clash with /healthz or the /v1 API')
          .default('/metrics'),
      })
      .prefault({}),
    /** OpenTelemetry: with `otlpEndpoint` set, every request is traced and its spans exported over OTLP/HTTP. */
    tracing: z
      .strictObject({
        /**
         * The collector's full traces URL, such as http://collector:4318/v1/traces. Empty counts as absent (an
         * unset `${OTLP_ENDPOINT}`), so the documented example starts with tracing off.
         */
        otlpEndpoint: z.preprocess((value) => (value === '' ? undefined : value), z.url({ protocol: /^https?$/ }).optional()),
        serviceName: z.string().min(1).default('ai-gateway'),
        /** Sent with every export, for a collector that asks for a token. */
        headers: z.record(z.string(), z.string()).optional(),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.clientKeys.length === 0 && !config.allowUnauthenticated) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientKeys'],
        message: 'no client keys are configured; add some, or set allowUnauthenticated: true to serve without keys',
      });
    }
    if (config.limits.bufferedBodyBytes < config.bodyLimitBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['limits', 'bufferedBodyBytes'],
        message: `must be at least bodyLimitBytes (${config.bodyLimitBytes}), or a body of the largest size allowed could never be read`,
      });
    }
    reportDuplicates(ctx, config.clientKeys.map((k) => k.name), (i) => ['clientKeys', i, 'name']);
    reportDuplicates(ctx, config.upstreams.map((u) => u.name), (i) => ['upstreams', i, 'name']);
    reportDuplicates(ctx, config.teams.map((t) => t.name), (i) => ['teams', i, 'name']);
    reportDuplicates(ctx, config.admins.map((a) => a.name), (i) => ['admins', i, 'name']);
    const teams = new Set(config.teams.map((t) => t.name));
    config.clientKeys.forEach((key, i) => {
      if (key.team !== undefined && !teams.has(key.team)) ctx.addIssue({ code: 'custom', path: ['clientKeys', i, 'team'], message: `no team "${key.team}" in teams` });
    });
    const accounts = config.upstreams.flatMap((u, ui) => u.accounts.map((a, ai) => ({ name: a.name, path: ['upstreams', ui, 'accounts', ai, 'name'] })));
    reportDuplicates(ctx, accounts.map((a) => a.name), (i) => accounts[i]!.path);
  });

function reportDuplicates(ctx: z.RefinementCtx, names: string[], pathOf: (index: number) => PropertyKey[]): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) ctx.addIssue({ code: 'custom', path: pathOf(i), message: `duplicate name "${n}"` });
    seen.add(n);
  });
}

export type GatewayConfig = z.infer<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;
export type UpstreamConfig = GatewayConfig['upstreams'][number];
export type AccountConfig = UpstreamConfig['accounts'][number];
export type ClientKeyConfig = GatewayConfig['clientKeys'][number];
export type CatalogEntryConfig = GatewayConfig['models'][number];
export type RedisConfig = NonNullable<GatewayConfig['redis']>;
export type MetricsConfig = GatewayConfig['metrics'];
export type TracingConfig = GatewayConfig['tracing'];
export type TeamConfig = GatewayConfig['teams'][number];
export type AdminConfig = GatewayConfig['admins'][number];
export type DatabaseConfig = NonNullable<GatewayConfig['database']>;
export type LimitsConfig = NonNullable<ClientKeyConfig['limits']>;
