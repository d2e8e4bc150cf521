import { pino, type DestinationStream } from 'pino';

/** A batch is handed to the writer once it holds this many characters (about fifteen request lines)... */
const LOG_BATCH_CHARS = 4096;
/** ...or this long after its first line, whichever comes first: a quiet gateway's lines are this late at most. */
export const LOG_BATCH_MS = 100;

/** What a batch is handed to: pino's SonicBoom destination. */
export interface LogWriter {
  write(text: string): unknown;
  flushSync(): void;
}

/**
 * The log's destination: lines are collected and handed to the writer in batches, so that a busy gateway
 * makes one write (and one hand-off to libuv's thread pool) per dozen or so requests instead of one each.
 * Every line stays whole and in order; only when it reaches standard output changes, by at most
 * {@link LOG_BATCH_MS}. {@link flushSync} writes whatever is held back, at once.
 */
export class BatchedLogStream implements DestinationStream {
  private batch = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };

  constructor(
    private readonly writer: LogWriter,
    private readonly batchChars = LOG_BATCH_CHARS,
    private readonly batchMs = LOG_BATCH_MS,
  ) {}

  write(line: string): void {
    this.batch += line;
    if (this.batch.length >= this.batchChars) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.batchMs);
      this.timer.unref();
    }
  }

  /** Hands the batch to the writer, which writes it without blocking. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch === '') return;
    const text = this.batch;
    this.batch = '';
    this.writer.write(text);
  }

  /** Writes everything held back before returning: for a process about to exit. */
  flushSync(): void {
    this.flush();
    this.writer.flushSync();
  }
}

let stdout: BatchedLogStream | undefined;

/**
 * Standard output, batched; one per process, however many gateways it builds. Whatever is held back is
 * written when the process exits, however it exits: `process.exit()` after a shutdown or a failed start,
 * or an uncaught exception. (Only a kill -9 loses the last {@link LOG_BATCH_MS} of lines.)
 */
export function batchedStdout(): BatchedLogStream {
  if (stdout === undefined) {
    // Synchronous writes, as pino's own default: a batch is one write() of a few KiB every 100 ms at most, and
    // only a synchronous writer is sure to have written everything when the process exits (an asynchronous
    // write still in the thread pool at exit is lost, as Node 22 and later show).
    const stream = new BatchedLogStream(pino.destination({ dest: 1, sync: true }));
    process.on('exit', () => {
      try {
        stream.flushSync();
      } catch {
        // Standard output is gone (a closed pipe): nothing more can be written anyway.
      }
    });
    stdout = stream;
  }
  return stdout;
}
