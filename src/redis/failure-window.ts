/** The breaker opens when, over the last one to two seconds, at least this many commands failed... */
export const BREAKER_MIN_FAILURES = 5;
/** ...and they were at least this share of the commands that ended: one slow reply never opens it. */
export const BREAKER_FAILURE_RATIO = 0.5;
/** Outcomes are counted in buckets of this length; the current and the previous one are looked at. */
const OUTCOME_BUCKET_MS = 1_000;

/** Successes and failures of the commands that ended in one bucket of time. */
interface Outcomes {
  failures: number;
  total: number;
}

/** The outcomes of the Redis commands of the last one to two seconds: whether failures call for the breaker. */
export class FailureWindow {
  private bucketStart = 0;
  private current: Outcomes = { failures: 0, total: 0 };
  private previous: Outcomes = { failures: 0, total: 0 };

  /** Counts one command's outcome; true when failures are now many enough, and a large enough share, to open the breaker. */
  record(now: number, failed: boolean): boolean {
    const outcomes = this.bucketAt(now);
    outcomes.total++;
    if (!failed) return false;
    outcomes.failures++;
    const failures = outcomes.failures + this.previous.failures;
    return failures >= BREAKER_MIN_FAILURES && failures >= BREAKER_FAILURE_RATIO * (outcomes.total + this.previous.total);
  }

  /** Forgets every outcome: Redis answered again. */
  reset(): void {
    this.current = { failures: 0, total: 0 };
    this.previous = { failures: 0, total: 0 };
  }

  /** The current bucket, after moving on to a new one when its time is up. */
  private bucketAt(now: number): Outcomes {
    if (now - this.bucketStart >= OUTCOME_BUCKET_MS) {
      this.previous = now - this.bucketStart >= 2 * OUTCOME_BUCKET_MS ? { failures: 0, total: 0 } : this.current;
      this.current = { failures: 0, total: 0 };
      this.bucketStart = now;
    }
    return this.current;
  }
}
