import type { ClientKey } from '../auth/client-keys.js';
import { hasLimits, type Admission, type KeyLimits, type LimitStatus } from './limiter.js';

/**
 * A team's limits are counted like a key's, under a name of their own: key names are `[A-Za-z0-9._-]`, so
 * `team:<name>` never meets one.
 */
export function teamStoreName(team: string): string {
  return `team:${team}`;
}

/** The team whose limits a key's requests also count against: undefined when its team has none. */
export function limitedTeam(client: ClientKey): { name: string; limits: KeyLimits } | undefined {
  if (client.team === undefined || !hasLimits(client.teamLimits)) return undefined;
  return { name: client.team, limits: client.teamLimits };
}

function tighterStatus(a: LimitStatus | undefined, b: LimitStatus | undefined): LimitStatus | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.remaining < a.remaining ? b : a;
}

/**
 * The key's and its team's decisions as one, for the `x-ratelimit-*` headers: each family shows the tighter
 * of the two; when one refused, its refusal (and retry time) stands.
 */
export function tighterAdmission(own: Admission | undefined, team: Admission | undefined): Admission | undefined {
  if (own === undefined) return team;
  if (team === undefined) return own;
  const decisive = !own.allowed ? own : team;
  const retryAfterMs = !own.allowed && !team.allowed ? Math.max(own.retryAfterMs, team.retryAfterMs) : decisive.retryAfterMs;
  return { ...decisive, retryAfterMs, requests: tighterStatus(own.requests, team.requests), tokens: tighterStatus(own.tokens, team.tokens) };
}
