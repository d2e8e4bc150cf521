import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';

/** Why a client connection was closed before its request was read (the `reason` label). */
export const REJECTION_REASONS = ['headers_timeout', 'body_timeout', 'too_many_connections'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Shortest time between two summary lines of rejected connections. */
const SUMMARY_INTERVAL_MS = 60_000;

/** File descriptors kept aside for the process itself: Redis, logs, the catalog file, the listening socket. */
const RESERVED_FDS = 64;
/** The usual soft file limit on Linux, assumed when the real one cannot be read. */
const FALLBACK_FILE_LIMIT = 1_024;

/** Time as the rejection log sees it; tests pass their own to cross a minute without waiting for it. */
export interface Clock {
  now(): number;
  /** Runs `callback` after `delayMs`; returns what cancels it. */
  schedule(callback: () => void, delayMs: number): () => void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  schedule(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** The soft "Max open files" limit in the text of /proc/self/limits; undefined when unlimited or absent. */
export function parseOpenFileLimit(procLimits: string): number | undefined {
  const match = /^Max open files\s+(\d+)\s/m.exec(procLimits);
  return match === null ? undefined : Number(match[1]);
}

/** This process's soft file limit (Node raises it to the hard limit at start-up, but exposes neither); Linux only. */
export function openFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined; // not Linux
  }
}

/**
 * The default for `listen.maxConnections`: half of the file descriptors left after a small reserve, since
 * every client request in flight holds an upstream socket too. Without a readable limit, Linux's usual
 * soft limit (1,024) is assumed.
 */
export function defaultMaxConnections(fileLimit: number | undefined): number {
  return Math.max(1, Math.floor(((fileLimit ?? FALLBACK_FILE_LIMIT) - RESERVED_FDS) / 2));
}

function noRejections(): Record<RejectionReason, number> {
  return { headers_timeout: 0, body_timeout: 0, too_many_connections: 0 };
}

/**
 * Counts rejected connections and logs them as one summary line a minute at most: a flood of slow or
 * surplus connections must show in the log without becoming a flood of log lines. The first rejection
 * after a quiet minute is logged at once; later ones are summed into a line written when the minute is up.
 */
export class ConnectionRejections {
  private pending = noRejections();
  private lastSummaryAt = Number.NEGATIVE_INFINITY;
  private cancelSummary: (() => void) | undefined;

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly onRejected: (reason: RejectionReason) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  record(reason: RejectionReason): void {
    this.onRejected(reason);
    this.pending[reason]++;
    if (this.cancelSummary !== undefined) return;
    const wait = this.lastSummaryAt + SUMMARY_INTERVAL_MS - this.clock.now();
    if (wait <= 0) {
      this.summarise();
      return;
    }
    this.cancelSummary = this.clock.schedule(() => {
      this.cancelSummary = undefined;
      this.summarise();
    }, wait);
  }

  /** Stops the pending summary (the counter keeps the counts). */
  close(): void {
    this.cancelSummary?.();
    this.cancelSummary = undefined;
  }

  private summarise(): void {
    const counts = this.pending;
    this.pending = noRejections();
    this.lastSummaryAt = this.clock.now();
    this.log.warn({ rejectedConnections: counts }, 'client connections rejected since the last summary');
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Where connections closed for being slow or surplus are counted and logged. */
    connectionRejections: ConnectionRejections;
  }
}

export interface ConnectionLimitsOptions {
  maxConnections: number;
  /** Told of every rejection (for the metrics). */
  onRejected: (reason: RejectionReason) => void;
  clock?: Clock;
}

/**
 * Caps the open client connections (Node's `maxConnections`: a connection over the cap is closed as it
 * arrives, before a byte is read) and counts what is refused. Timeouts are counted by the client error
 * handler, which sees them.
 */
export const connectionLimits = fp<ConnectionLimitsOptions>(
  async (app, { maxConnections, onRejected, clock }) => {
    const rejections = new ConnectionRejections(app.log, onRejected, clock);
    app.decorate('connectionRejections', rejections);
    app.server.maxConnections = maxConnections;
    const onDrop = (): void => rejections.record('too_many_connections');
    app.server.on('drop', onDrop);
    app.addHook('onClose', async () => {
      app.server.off('drop', onDrop);
      rejections.close();
    });
  },
  { name: 'connection-limits' },
);
