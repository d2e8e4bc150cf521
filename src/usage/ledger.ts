import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { RequestContext } from '../request-context.js';
import type { Store } from '../store/store.js';
import type { UsageDelta } from '../store/usage-repo.js';
import { DAY_MS } from '../time-windows.js';

/** How often counted usage is written to the store: the ledger is at most about this far behind. */
export const LEDGER_FLUSH_MS = 5_000;

interface Batch {
  readonly id: string;
  readonly rows: UsageDelta[];
}

/**
 * The durable daily usage ledger. Each request's tokens and cost are added in memory (no database on the
 * request path) and written in batches. A batch keeps its id until the store confirms it, and the store records
 * applied ids in the same transaction, so a retry after a lost answer is never counted twice, and a failed
 * batch is retried, never dropped. While the store is down, new usage stays merged in memory.
 */
export class UsageLedger {
  private pending = new Map<string, UsageDelta>();
  private readonly unsent: Batch[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruned = 0;

  constructor(
    private readonly store: Store,
    private readonly log: FastifyBaseLogger,
    private readonly retentionDays: number,
  ) {}

  get enabled(): boolean {
    return this.store.state !== 'disabled';
  }

  start(intervalMs = LEDGER_FLUSH_MS): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Counts one ended request: the same tokens the metrics count, and the cost the spend charged. */
  add(context: RequestContext, costMicros: number, now: number): void {
    const client = context.clientKey;
    if (client === undefined || !this.enabled) return;
    const day = new Date(now).toISOString().slice(0, 10);
    const model = context.model ?? 'none';
    const team = client.team ?? '';
    const id = `${day}\u0000${client.name}\u0000${model}\u0000${team}`;
    let row = this.pending.get(id);
    if (row === undefined) {
      row = { day, key: client.name, model, team, requests: 0, promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0, costMicros: 0 };
      this.pending.set(id, row);
    }
    row.requests += 1;
    row.costMicros += costMicros;
    const usage = context.usage;
    if (usage !== undefined) {
      row.promptTokens += usage.prompt;
      row.cachedTokens += usage.cached;
      row.cacheWriteTokens += usage.cacheWrite ?? 0;
      row.completionTokens += usage.completion;
      row.reasoningTokens += usage.reasoning;
    }
  }

  /** Writes every batch not yet confirmed, oldest first; what fails stays for the next flush. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    // A new batch is cut only while the store answers: until then usage keeps merging into `pending`.
    if (this.pending.size > 0 && this.store.state === 'ready') {
      this.unsent.push({ id: randomUUID(), rows: [...this.pending.values()] });
      this.pending = new Map();
    }
    while (this.unsent.length > 0) {
      const batch = this.unsent[0]!;
      try {
        await this.store.use((r) => r.usage.apply(batch.id, batch.rows));
      } catch (err) {
        this.log.warn({ err: (err as Error).message, batches: this.unsent.length }, 'usage ledger not written yet; will retry');
        return;
      }
      this.unsent.shift();
    }
    await this.prune();
  }

  private async prune(): Promise<void> {
    if (Date.now() - this.pruned < DAY_MS) return;
    this.pruned = Date.now();
    await this.store.use((r) => r.usage.prune(this.retentionDays)).catch(() => (this.pruned = 0));
  }

  /** Stops the timer and writes what is left (a store that is down keeps it only in memory, logged). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if (!this.enabled) return;
    if (this.store.state === 'unavailable') await this.store.use((r) => r.keys.version()).catch(() => undefined);
    await this.flush();
    if (this.pending.size > 0 || this.unsent.length > 0) {
      this.log.error({ rows: this.pending.size, batches: this.unsent.length }, 'usage ledger: rows not written at shutdown (the store did not answer)');
    }
  }
}
