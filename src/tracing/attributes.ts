/**
 * Span attribute names beyond the stable semantic conventions. The `gen_ai.*` names follow OpenTelemetry's
 * generative-AI conventions, which are still incubating (so they are spelt here, not imported); the
 * `gateway.*` names are this gateway's own. Every value is a configured name or a count.
 */
export const GEN_AI_MODEL = 'gen_ai.request.model';
export const GEN_AI_USAGE = { input: 'gen_ai.usage.input_tokens', output: 'gen_ai.usage.output_tokens' } as const;
export const GATEWAY_USAGE = { cached: 'gateway.usage.cached_tokens', total: 'gateway.usage.total_tokens' } as const;
/** The client key's configured name (never the key). */
export const GATEWAY_CLIENT_KEY = 'gateway.client_key.name';
/** The upstream account's configured name (never its key). */
export const GATEWAY_ACCOUNT = 'gateway.account.name';
/** The upstream (pool) the account belongs to. */
export const GATEWAY_UPSTREAM = 'gateway.upstream.name';
/** 1 for the first try of a request, 2 for the first failover, and so on. */
export const GATEWAY_ATTEMPT = 'gateway.attempt';
/** `account:reason` for each failed attempt, as in the log line. */
export const GATEWAY_UPSTREAM_ERRORS = 'gateway.upstream_errors';
