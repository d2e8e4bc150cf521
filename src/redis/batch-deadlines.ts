import { performance } from 'node:perf_hooks';

/** A batch of commands written together, waiting for its replies. */
export interface InFlightBatch<T> {
  readonly items: readonly T[];
  /** Time (ms, `performance.now()`'s clock) after which its unanswered commands are given up on. */
  readonly due: number;
  /** Commands not answered yet. */
  open: number;
}

/**
 * The deadlines of the batches in flight, watched by one timer rather than one per batch. Batches are sent
 * in order with the same timeout, so their deadlines come in order: the timer is set for the oldest open
 * batch and, when it fires, gives up on every batch that is due and is set again for the next one. A batch
 * is given up on no earlier than its deadline, as with a timer of its own, but a batch answered in time
 * costs no timer: one is set per `timeoutMs` at most, however many batches go out.
 */
export class BatchDeadlines<T> {
  private readonly batches: InFlightBatch<T>[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onDue: (batch: InFlightBatch<T>) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts watching a batch just sent. */
  add(items: readonly T[]): InFlightBatch<T> {
    const batch: InFlightBatch<T> = { items, due: this.now() + this.timeoutMs, open: items.length };
    this.batches.push(batch);
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return batch;
  }

  /** One of the batch's commands was answered (or given up on). */
  answered(batch: InFlightBatch<T>): void {
    if (--batch.open > 0) return;
    // Answered batches at the head are dropped now, so the list holds only what is still in flight.
    while (this.batches.length > 0 && this.batches[0]!.open <= 0) this.batches.shift();
  }

  /** Batches still waiting for a reply. */
  get inFlight(): number {
    return this.batches.length;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms);
    // The socket waiting for the replies keeps the process alive; this timer need not.
    this.timer.unref();
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const now = this.now();
    while (this.batches.length > 0) {
      const head = this.batches[0]!;
      if (head.open > 0 && head.due > now) break;
      this.batches.shift();
      if (head.open > 0) this.onDue(head);
    }
    if (this.batches.length > 0) this.arm(Math.max(1, this.batches[0]!.due - now));
  };
}
