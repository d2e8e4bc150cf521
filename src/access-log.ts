import { pino, type Logger } from 'pino';
import type { Usage } from './proxy/usage.js';

/** What the one line a request writes says of it. */
export interface AccessLine {
  requestId: string;
  clientKey: string;
  model: string;
  account: string;
  status: number;
  durationMs: number;
  tokens: Readonly<Usage>;
  costUsd: number;
  upstreamErrors: string[] | undefined;
  /** The tokens are the gateway's estimate (a stream left before its usage came); written only when true. */
  usageEstimated?: boolean;
  /** `POST /v1/chat/completions` */
  msg: string;
}

const INFO = 30;
const { chindingsSym, streamSym, timeSym, lsCacheSym } = pino.symbols;

/** The parts of a pino logger its own line writing uses, exposed for this through `pino.symbols`. */
interface PinoInternals {
  chindings: string;
  stream: { write(line: string): unknown };
  time: () => string;
  levelStrings: Record<number, string>;
}

function internalsOf(logger: Logger): PinoInternals {
  const fields = logger as unknown as Record<symbol, unknown>;
  return {
    chindings: fields[chindingsSym] as string,
    stream: fields[streamSym] as PinoInternals['stream'],
    time: fields[timeSym] as PinoInternals['time'],
    levelStrings: fields[lsCacheSym] as PinoInternals['levelStrings'],
  };
}

/**
 * Writes request lines through `logger` (a pino logger): the same JSON pino writes for
 * `logger.info(fields, msg)` (its level and time, the logger's bindings, the fields, `msg`), to the same
 * destination, at the logger's level. Built by hand because it is written once per request and its shape
 * is fixed: pino's generic walk over an object and its nested `tokens` cost about as much as the rest of
 * the request's bookkeeping.
 */
export function accessLog(logger: Logger): (line: AccessLine) => void {
  const internals = internalsOf(logger);
  return (line) => {
    if (!logger.isLevelEnabled('info')) return;
    const t = line.tokens;
    const id = JSON.stringify(line.requestId);
    internals.stream.write(
      `${internals.levelStrings[INFO]}${internals.time()}${internals.chindings},"reqId":${id},"requestId":${id}` +
        `,"clientKey":${JSON.stringify(line.clientKey)},"model":${JSON.stringify(line.model)},"account":${JSON.stringify(line.account)}` +
        `,"status":${line.status},"durationMs":${line.durationMs}` +
        `,"tokens":{"prompt":${t.prompt},"completion":${t.completion},"cached":${t.cached},"reasoning":${t.reasoning},"total":${t.total}${t.seconds === undefined ? '' : `,"seconds":${t.seconds}`}${cacheWrites(t)}}` +
        `,"costUsd":${line.costUsd}${line.upstreamErrors === undefined ? '' : `,"upstreamErrors":${JSON.stringify(line.upstreamErrors)}`}` +
        `${line.usageEstimated === true ? ',"usageEstimated":true' : ''}` +
        `,"msg":${JSON.stringify(line.msg)}}\n`,
    );
  };
}

/** The prompt-cache writes of a usage that has some (Anthropic's), and those kept for an hour. */
function cacheWrites(t: Readonly<Usage>): string {
  if (t.cacheWrite === undefined) return '';
  return `,"cache_write":${t.cacheWrite}${t.cacheWrite1h === undefined ? '' : `,"cache_write_1h":${t.cacheWrite1h}`}`;
}
