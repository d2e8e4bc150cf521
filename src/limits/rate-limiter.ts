import type { FastifyBaseLogger } from 'fastify';
import type { ClientKey } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RequestContext } from '../request-context.js';
import { rateLimitHeaders } from './headers.js';
import { refusedByRedis } from '../redis/connection.js';
import { hasLimits, type Admission, type KeyLimits, type LimitStore, type TokenReservation, type WindowCounts } from './limiter.js';
import { answerCap, reservationFor } from './reservation.js';
import { limitedTeam, teamStoreName, tighterAdmission } from './team.js';

/** Where a request's reservation against one subject (its key, or its key's team) is kept. */
type Slot = 'tokenReservation' | 'teamReservation';

/** One set of limits a request counts against: its key's, or its team's (shared by the team's keys). */
interface Subject {
  /** The name its counts are kept under in the store. */
  storeName: string;
  limits: KeyLimits;
  slot: Slot;
  /** How a 429 names it. */
  who: string;
}

function keySubject(client: ClientKey, limits: KeyLimits): Subject {
  return { storeName: client.name, limits, slot: 'tokenReservation', who: `key '${client.name}'` };
}

/** The subjects a request of this key counts against; empty when neither the key nor its team has limits. */
function subjectsOf(client: ClientKey): Subject[] {
  const subjects: Subject[] = [];
  const limits = client.config.limits;
  if (hasLimits(limits)) subjects.push(keySubject(client, limits));
  const team = limitedTeam(client);
  if (team !== undefined) subjects.push({ storeName: teamStoreName(team.name), limits: team.limits, slot: 'teamReservation', who: `team '${team.name}'` });
  return subjects;
}

/**
 * How often reservations that their body lowered are moved in the store. A request that ends before its
 * turn (most plain requests) settles with its first reservation instead, and costs no extra command: the
 * windows come out the same, and until then they hold a little more than the request may use.
 */
export const SHRINK_INTERVAL_MS = 50;

/** A reservation that its body lowered, waiting for its move in the store. */
interface PendingShrink {
  subject: Subject;
  context: RequestContext;
  reservation: TokenReservation;
  tokens: number;
}

export interface KeyUsage extends WindowCounts {
  name: string;
  limits: KeyLimits;
}

/**
 * Applies each client key's limits, and counts every key's requests and tokens for /admin/usage.
 *
 * A request of a key with token limits reserves what it may cost when it is admitted (see `reservation.ts`),
 * and gives back what it did not use when it ends: requests running at the same time cannot each spend the
 * same tokens, and a window overshoots its limit by at most one request.
 *
 * When the store (Redis) cannot be reached, limits fail open: the request passes, the metric
 * `gateway_rate_limit_fail_open_total` counts it, and the connection logs the outage once. A gateway
 * exists to keep model calls flowing; refusing every call because the limit counter is unreachable would
 * turn a Redis outage into a full outage. A Redis that answers but refuses to count (out of memory, a
 * read-only replica) is another matter: it is up, so failing open would let anyone who can fill it
 * switch every limit off. A key with limits then gets 503 `limits_unavailable`.
 */
export class RateLimiter {
  /** Lowered since the last sweep; moved at the sweep after next, so each waits at least one interval. */
  private lowered: PendingShrink[] = [];
  private due: PendingShrink[] = [];
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly store: LimitStore,
    private readonly metrics: GatewayMetrics,
    private readonly log: FastifyBaseLogger,
    /** The gateway's clock, for the in-memory windows and the hooks; tests set it. */
    readonly now: () => number = Date.now,
  ) {}

  /**
   * Admits or refuses one request, reserving tokens for a body of `bodyBytes` whose answer is capped at
   * `cap` (before the body is read: its Content-Length, no cap); resolves with the rate-limit headers its
   * response carries. A key without limits is only counted: that is decided at once, and `undefined` (no
   * promise, no headers) is returned.
   */
  admit(client: ClientKey, context: RequestContext, bodyBytes: number, now: number, cap?: number): Promise<Record<string, string> | undefined> | undefined {
    const limits = client.config.limits;
    if (client.teamLimits === undefined) {
      if (!hasLimits(limits)) {
        this.store.count(client.name, now);
        return undefined;
      }
      return whileMoving(context, this.admitLimited(keySubject(client, limits), context, reservationFor(limits, bodyBytes, cap), now));
    }
    const subjects = subjectsOf(client);
    if (!hasLimits(limits)) this.store.count(client.name, now);
    if (subjects.length === 0) return undefined;
    return whileMoving(context, this.admitAll(subjects, context, bodyBytes, cap, now));
  }

  /**
   * Once the body is parsed: sets the request's reservation to what the body says (its real size, its
   * `max_tokens`). Undefined when nothing changes; rejects with a 429 when a larger reservation finds the
   * window spent.
   */
  adjust(context: RequestContext, body: unknown, bodyBytes: number, now: number): Promise<void> | undefined {
    const { clientKey } = context;
    if (clientKey === undefined || (context.tokenReservation === undefined && context.teamReservation === undefined)) return undefined;
    const cap = answerCap(body);
    const growing: Promise<void>[] = [];
    for (const subject of subjectsOf(clientKey)) {
      const reservation = context[subject.slot];
      if (reservation === undefined) continue;
      const tokens = reservationFor(subject.limits, bodyBytes, cap);
      if (tokens === reservation.tokens) continue;
      if (tokens < reservation.tokens) {
        // A smaller reservation is never refused: nothing waits for it (see SHRINK_INTERVAL_MS).
        this.lowered.push({ subject, context, reservation, tokens });
        this.armSweeper();
      } else growing.push(this.adjustLimited(subject, context, reservation, tokens, now));
    }
    if (growing.length === 0) return undefined;
    return whileMoving(context, growing.length === 1 ? growing[0]! : Promise.all(growing).then(() => undefined));
  }

  /**
   * Called once per request, wherever it ended, with `context.usage` final: settles the request's
   * reservation with the tokens it used (or counts them, when nothing was reserved). Never delays or fails
   * anything.
   */
  requestEnded(context: RequestContext, now: number): void {
    const client = context.clientKey;
    if (client === undefined) return;
    const moving = context.reservationMoving;
    if (moving !== undefined) {
      context.reservationMoving = undefined;
      void moving.then(() => this.requestEnded(context, now));
      return;
    }
    const used = context.usage?.total ?? 0;
    this.settle(client.name, context.tokenReservation, used, hasLimits(client.config.limits), now);
    context.tokenReservation = undefined;
    const team = limitedTeam(client);
    if (team !== undefined) this.settle(teamStoreName(team.name), context.teamReservation, used, true, now);
    context.teamReservation = undefined;
  }

  /** Replaces a subject's reservation by the tokens used (or counts them, when nothing was reserved). */
  private settle(storeName: string, reservation: TokenReservation | undefined, used: number, exact: boolean, now: number): void {
    let written: Promise<void>;
    if (reservation !== undefined) written = this.store.settle(storeName, reservation, used, now);
    else if (used > 0) written = this.store.addTokens(storeName, used, now, exact);
    else return;
    written.catch((err: Error) => {
      this.log.debug({ err: err.message, clientKey: storeName, tokens: used }, 'token count not recorded');
    });
  }

  /** Writes the counts the store still holds back (on shutdown, before the Redis connection closes). */
  close(): Promise<void> {
    clearTimeout(this.sweeper);
    this.lowered = [];
    this.due = [];
    return this.store.close();
  }

  async usage(clients: readonly ClientKey[], now: number): Promise<KeyUsage[]> {
    return Promise.all(
      clients.map(async (client) => ({ name: client.name, limits: client.config.limits ?? {}, ...(await this.store.counts(client.name, now)) })),
    );
  }

  private async admitLimited(subject: Subject, context: RequestContext, reserve: number, now: number): Promise<Record<string, string> | undefined> {
    let admission: Admission;
    try {
      admission = await this.store.admit(subject.storeName, subject.limits, now, reserve);
    } catch (err) {
      return this.storeFailed(err);
    }
    const headers = rateLimitHeaders(admission);
    if (!admission.allowed) throw rateLimited(subject, admission, headers);
    context[subject.slot] = { tokens: reserve, minute: admission.minute };
    return headers;
  }

  /**
   * Admits a request against its key's limits and its team's at once (one write to Redis): only when both
   * allow. A subject that allowed gets its reservation back when the other refused.
   */
  private async admitAll(subjects: Subject[], context: RequestContext, bodyBytes: number, cap: number | undefined, now: number): Promise<Record<string, string> | undefined> {
    const reserves = subjects.map((s) => reservationFor(s.limits, bodyBytes, cap));
    const outcomes = await Promise.all(
      subjects.map((s, i) => this.store.admit(s.storeName, s.limits, now, reserves[i]!).then((a): Admission | Error => a, (err: Error) => err)),
    );
    let merged: Admission | undefined;
    let refused: Subject | undefined;
    let failure: Error | undefined;
    outcomes.forEach((outcome, i) => {
      if (outcome instanceof Error) {
        failure ??= outcome;
        return;
      }
      merged = tighterAdmission(merged, outcome);
      if (outcome.allowed) context[subjects[i]!.slot] = { tokens: reserves[i]!, minute: outcome.minute };
      else refused ??= subjects[i];
    });
    if (refused !== undefined || (failure !== undefined && refusedByRedis(failure))) {
      for (const s of subjects) {
        this.settle(s.storeName, context[s.slot], 0, true, now);
        context[s.slot] = undefined;
      }
    }
    if (refused !== undefined && merged !== undefined) throw rateLimited(refused, merged, rateLimitHeaders(merged));
    if (failure !== undefined) this.storeFailed(failure);
    return merged === undefined ? undefined : rateLimitHeaders(merged);
  }

  private async adjustLimited(subject: Subject, context: RequestContext, reservation: TokenReservation, tokens: number, now: number): Promise<void> {
    let admission: Admission;
    try {
      admission = await this.store.adjust(subject.storeName, subject.limits, reservation, tokens, now);
    } catch (err) {
      this.storeFailed(err);
      return;
    }
    if (!admission.allowed) throw rateLimited(subject, admission, rateLimitHeaders(admission));
    context[subject.slot] = { tokens, minute: admission.minute };
  }

  private armSweeper(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setTimeout(() => this.sweep(), SHRINK_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Moves the lowered reservations of requests still running; the request's end settles after its move. */
  private sweep(): void {
    this.sweeper = undefined;
    const due = this.due;
    this.due = this.lowered;
    this.lowered = [];
    for (const pending of due) {
      const { subject, context, reservation } = pending;
      if (context[subject.slot] !== reservation || context.reservationMoving !== undefined) continue; // it ended
      context.reservationMoving = this.shrink(pending, this.now());
    }
    if (this.due.length > 0) this.armSweeper();
  }

  /** Moves the reservation down to `tokens`; the request keeps the old one if the store does not answer. */
  private async shrink({ subject, context, reservation, tokens }: PendingShrink, now: number): Promise<void> {
    try {
      const admission = await this.store.adjust(subject.storeName, subject.limits, reservation, tokens, now);
      if (context[subject.slot] === reservation) context[subject.slot] = { tokens, minute: admission.minute };
    } catch (err) {
      this.log.debug({ err: (err as Error).message, clientKey: subject.storeName }, 'token reservation not reduced');
    }
  }

  /** Fails open when the store could not be reached; refuses when it answered with an error. */
  private storeFailed(err: unknown): undefined {
    if (refusedByRedis(err)) {
      this.log.warn({ err: (err as Error).message }, 'redis refused to count a limited key: refusing its request');
      throw new GatewayError(503, 'server_error', 'Rate limits cannot be checked right now; retry later.', { code: 'limits_unavailable' });
    }
    this.metrics.rateLimitFailOpen();
    return undefined;
  }
}

/**
 * Marks the request's reservation as on its way to the store while `work` runs, so that a request that ends
 * meanwhile (its client hung up) settles the reservation `work` leaves, rather than none, which would leak it.
 */
function whileMoving<T>(context: RequestContext, work: Promise<T>): Promise<T> {
  const done = (): void => {
    if (context.reservationMoving === moving) context.reservationMoving = undefined;
  };
  const moving: Promise<void> = work.then(done, done);
  context.reservationMoving = moving;
  return work;
}

function rateLimited(subject: Subject, admission: Admission, headers: Record<string, string>): GatewayError {
  const what = admission.exceeded === 'requests' ? 'requests per minute' : 'tokens';
  return new GatewayError(429, 'rate_limit_error', `Rate limit reached for ${what} on ${subject.who}. Retry after ${headers['retry-after']} s.`, {
    code: 'rate_limit_exceeded',
    headers,
  });
}
