import type { FastifyBaseLogger } from 'fastify';
import { Redis, ReplyError, type Cluster } from 'ioredis';
import { BatchDeadlines, type InFlightBatch } from './batch-deadlines.js';
import { BREAKER_FAILURE_RATIO, BREAKER_MIN_FAILURES, FailureWindow } from './failure-window.js';

export type RedisClient = Redis | Cluster;
/** One command (or script, or several at once) as given to {@link RedisConnection.run}. */
export type RedisCommand<T> = (client: RedisClient) => Promise<T>;

/** Why a command was not answered: Redis is disconnected, or known to be failing (the breaker is open). */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** Why a command was given up on: Redis did not answer within `timeoutMs`. */
export class RedisTimeoutError extends Error {
  override name = 'RedisTimeoutError';
}

// Built once: a rejection per request while Redis is down must not cost a stack trace each.
const UNAVAILABLE = new RedisUnavailableError('Redis is unavailable');
const CLOSED = new RedisUnavailableError('Redis connection closed');

/**
 * Reply errors that mean Redis cannot serve right now (it is starting, failing over, or stuck in a script):
 * they count as failures, like a timeout. Every other reply error, OOM and READONLY included, is an answer:
 * Redis is up, and refused this command (see {@link refusedByRedis}).
 */
const OUTAGE_REPLY = /^(CLUSTERDOWN|LOADING|MASTERDOWN|TRYAGAIN|BUSY)/;

/**
 * True when Redis answered the command with an error (out of memory under \`maxmemory\`, a read-only replica)
 * rather than failing to answer: Redis is reachable, but will not do what was asked.
 */
export function refusedByRedis(err: unknown): boolean {
  return err instanceof ReplyError && !OUTAGE_REPLY.test((err as Error).message);
}

export interface RedisConnectionOptions {
  timeoutMs: number;
  breakerMs: number;
  keyPrefix: string;
}

/** A command waiting for the end of the turn, then for its reply. */
interface QueuedCommand {
  command: RedisCommand<unknown>;
  probe: boolean;
  settled: boolean;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * One Redis client (standalone, Cluster or Sentinel) shared by everything in the gateway that uses Redis,
 * behind a circuit breaker, so that Redis trouble never fails or stalls a request:
 *
 * - while disconnected, commands fail at once (no offline queue);
 * - a command not answered within `timeoutMs` is given up on (a failure), and so is one that Redis answers
 *   with an outage error (LOADING, CLUSTERDOWN, ...);
 * - when failures pile up ({@link BREAKER_MIN_FAILURES} of them, and {@link BREAKER_FAILURE_RATIO} of the
 *   commands of the last second or two), Redis is not asked at all for `breakerMs`; then one command probes
 *   it, and only that probe's success closes the breaker again. One slow reply (an event-loop stall of this
 *   process, a GC pause) among many good ones never opens it, and a late reply to a command sent before the
 *   breaker opened never closes it;
 * - the outage is logged once when it starts and once when it ends, never per request.
 *
 * Callers go through {@link run} and treat a rejection as "decide without Redis".
 */
export class RedisConnection {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
  private readonly breakerMs: number;
  private readonly log: FastifyBaseLogger;
  /** True from the first sign of trouble until Redis answers again. */
  private down = false;
  private everReady = false;
  /** Epoch ms until which the breaker is open; 0 when closed. */
  private openUntil = 0;
  /** A half-open probe is in flight: the other commands still fail fast. */
  private probing = false;
  private closing = false;
  private readonly failures = new FailureWindow();
  /** Set when tracing is on: wraps each command in a span under the request that issued it. */
  traceCommand: (<T>(command: RedisCommand<T>) => RedisCommand<T>) | undefined = undefined;
  /** Commands asked for in this turn of the event loop, sent together at its end. */
  private queued: QueuedCommand[] = [];
  private sendScheduled = false;
  private readonly writeBehinds: (() => void)[] = [];
  private writeBehindTimer: NodeJS.Timeout | undefined;
  private writeBehindDue = 0;
  /** One timer for every batch in flight (see {@link BatchDeadlines}). */
  private readonly deadlines: BatchDeadlines<QueuedCommand>;

  constructor(client: RedisClient, options: RedisConnectionOptions, log: FastifyBaseLogger) {
    this.client = client;
    this.keyPrefix = options.keyPrefix;
    this.timeoutMs = options.timeoutMs;
    this.breakerMs = options.breakerMs;
    this.log = log;
    this.deadlines = new BatchDeadlines(this.timeoutMs, (batch) => this.giveUp(batch));
    client.on('ready', () => this.onReady());
    // Listening to 'error' also keeps ioredis from printing every failed reconnect to the console.
    client.on('error', (err: Error) => this.markDown(err));
    client.on('close', () => this.markDown(CLOSED));
  }

  /** Connected and ready for commands. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Whether a command run now would be sent to Redis (rather than failing at once). */
  get available(): boolean {
    return this.client.status === 'ready' && (this.openUntil === 0 || (Date.now() >= this.openUntil && !this.probing));
  }

  /**
   * Runs one command (or script) through the breaker. Resolves with its reply; rejects at once while Redis
   * is unavailable, and after `timeoutMs` when it does not answer. Never waits longer than that.
   *
   * The command is sent at the end of this turn of the event loop, in one write with every other command of
   * the turn and with whatever the write-behinds hold (see {@link addWriteBehind}). Unlike ioredis's own
   * auto-pipelining, a batch never waits for the replies to the one before it: a request's admission is
   * not held up behind the settle of the request before it.
   */
  run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready') return Promise.reject(UNAVAILABLE);
    let probe = false;
    if (this.openUntil !== 0) {
      if (this.probing || Date.now() < this.openUntil) return Promise.reject(UNAVAILABLE);
      this.probing = true;
      probe = true;
    }
    // Wrapped now, under the request that asked for it, although it is sent a moment later.
    const traced = this.traceCommand === undefined ? command : this.traceCommand(command);
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ command: traced, probe, settled: false, resolve: resolve as (value: unknown) => void, reject });
      this.sendSoon();
    });
  }

  /**
   * Adds a write-behind: `send` is called before each batch of commands is sent, and sends (through
   * {@link run}) whatever its owner held back, so that writes nothing waits for (settles, spend) share the
   * write of the next command instead of costing one of their own. {@link writeWithin} bounds how long they wait.
   */
  addWriteBehind(send: () => void): void {
    this.writeBehinds.push(send);
  }

  /** Makes sure a batch is sent (and with it what the write-behinds hold) within `ms` milliseconds. */
  writeWithin(ms: number): void {
    const due = Date.now() + ms;
    if (this.writeBehindTimer !== undefined) {
      if (this.writeBehindDue <= due) return;
      clearTimeout(this.writeBehindTimer);
    }
    this.writeBehindDue = due;
    this.writeBehindTimer = setTimeout(this.sendQueued, ms);
    this.writeBehindTimer.unref();
  }

  /** Makes sure a batch is sent at the end of this turn of the event loop. */
  sendSoon(): void {
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    setImmediate(this.sendQueued);
  }

  /** Sends the commands queued in this turn, and what the write-behinds add, in one write; one timer watches every batch in flight. */
  private readonly sendQueued = (): void => {
    this.sendScheduled = true; // commands the write-behinds run now join this batch
    for (const send of this.writeBehinds) send();
    this.sendScheduled = false;
    if (this.writeBehindTimer !== undefined) {
      clearTimeout(this.writeBehindTimer);
      this.writeBehindTimer = undefined;
    }
    const batch = this.queued;
    if (batch.length === 0) return;
    this.queued = [];
    const inFlight = this.deadlines.add(batch);
    const answered = (queued: QueuedCommand, value: unknown, err: Error | undefined): void => {
      if (queued.settled) return;
      queued.settled = true;
      this.deadlines.answered(inFlight);
      if (err === undefined) {
        this.ended(queued.probe, undefined);
        queued.resolve(value);
      } else {
        this.ended(queued.probe, refusedByRedis(err) ? undefined : err);
        queued.reject(err);
      }
    };
    // A single node's commands are written by ioredis as they come: corked, they leave in one write.
    const stream = this.client instanceof Redis ? this.client.stream : undefined;
    stream?.cork();
    for (const queued of batch) {
      let reply: Promise<unknown>;
      try {
        reply = queued.command(this.client);
      } catch (err) {
        reply = Promise.reject(err as Error);
      }
      reply.then(
        (value) => answered(queued, value, undefined),
        (err: Error) => answered(queued, undefined, err),
      );
    }
    stream?.uncork();
  };

  /**
   * A batch not answered within `timeoutMs`: its unanswered commands fail. One more turn of the event loop
   * first: a reply that arrived while this process was busy (a GC pause, a burst of requests) is read
   * before, so a stalled gateway does not blame Redis.
   */
  private giveUp(batch: InFlightBatch<QueuedCommand>): void {
    setImmediate(() => {
      for (const queued of batch.items) {
        if (queued.settled) continue;
        queued.settled = true;
        const error = new RedisTimeoutError(`Redis did not answer within ${this.timeoutMs} ms`);
        this.ended(queued.probe, error);
        queued.reject(error);
      }
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.client.quit().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 500);
        }),
      ]);
      clearTimeout(timer);
    }
    this.client.disconnect();
  }

  /** Counts one command's outcome (`failure` undefined: Redis answered); opens or closes the breaker. */
  private ended(probe: boolean, failure: Error | undefined): void {
    if (probe) {
      this.probing = false;
      if (failure === undefined) this.closeBreaker();
      else this.openUntil = Date.now() + this.breakerMs;
      return;
    }
    // While the breaker is open, only commands sent before it opened end here: none of them says anything new.
    if (this.openUntil !== 0) return;
    if (this.failures.record(Date.now(), failure !== undefined)) {
      this.openUntil = Date.now() + this.breakerMs;
      this.markDown(failure!);
    }
  }

  private closeBreaker(): void {
    this.openUntil = 0;
    this.probing = false;
    this.failures.reset();
    this.markUp();
  }

  /** A (re)connection that passed ioredis's ready check: Redis answered, as a probe would have. */
  private onReady(): void {
    if (this.closing) return;
    if (this.down) this.closeBreaker();
    else if (!this.everReady) this.log.info('redis connected');
    this.openUntil = 0;
    this.probing = false;
    this.everReady = true;
  }

  private markDown(err: Error): void {
    if (this.closing || this.down) return;
    this.down = true;
    this.log.warn({ err: err.message, breakerMs: this.breakerMs }, 'redis unavailable: routing without it until it is back');
  }

  private markUp(): void {
    if (this.closing || !this.down) return;
    this.down = false;
    this.log.info('redis available again');
  }
}
