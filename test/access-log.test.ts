// The request line is written by hand, and must be exactly the line pino itself writes for the same fields.
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { accessLog, type AccessLine } from '../src/access-log.js';

/** A pino logger as the gateway builds it, its output captured; its clock fixed so two lines compare whole. */
function capturedLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const root = pino({ level, timestamp: () => ',"time":1764547200000' }, { write: (line: string) => lines.push(line) });
  return { logger: root.child({}, { redact: { paths: [] } }), lines };
}

const LINE: AccessLine = {
  requestId: 'req-0001',
  clientKey: 'team "web"',
  model: 'gpt-4o \u00e9\u2028',
  account: 'acct-a',
  status: 200,
  durationMs: 12.34,
  tokens: { prompt: 5, completion: 3, cached: 1, reasoning: 2, total: 8 },
  costUsd: 0.000123,
  upstreamErrors: undefined,
  msg: 'POST /v1/chat/completions',
};

/** What `logger.info(fields, msg)` wrote before the request line was written by hand. */
function pinoLine(logger: Logger, line: AccessLine): void {
  const { msg, requestId, ...fields } = line;
  logger.info({ reqId: requestId, requestId, ...fields }, msg);
}

describe('the request line', () => {
  const cases: [string, AccessLine][] = [
    ['a served request', LINE],
    ['a request that failed over (upstreamErrors) and an audio usage (seconds)', { ...LINE, upstreamErrors: ['a:timeout', 'b:"x"'], tokens: { ...LINE.tokens, seconds: 61 } }],
    ['a stream charged an estimate (usageEstimated)', { ...LINE, status: 499, usageEstimated: true }],
    ['a refused request', { ...LINE, clientKey: 'none', model: 'none', account: 'none', status: 401, durationMs: 0.5, costUsd: 0, msg: 'POST "/v1/\\u0000odd"' }],
  ];
  for (const [name, line] of cases) {
    it(`is the line pino writes for the same fields: ${name}`, () => {
      const byPino = capturedLogger();
      pinoLine(byPino.logger, line);
      const byHand = capturedLogger();
      accessLog(byHand.logger)(line);
      expect(byHand.lines).toEqual(byPino.lines);
      expect(JSON.parse(byHand.lines[0]!)).toMatchObject({ level: 30, reqId: line.requestId, model: line.model, msg: line.msg });
    });
  }

  it('writes usageEstimated only when the tokens are an estimate', () => {
    const { logger, lines } = capturedLogger();
    const write = accessLog(logger);
    write(LINE);
    write({ ...LINE, usageEstimated: false });
    write({ ...LINE, usageEstimated: true });
    expect(lines.map((line) => (JSON.parse(line) as { usageEstimated?: boolean }).usageEstimated)).toEqual([undefined, undefined, true]);
  });

  it('follows the logger level: nothing below info, and again once the level comes back', () => {
    const { logger, lines } = capturedLogger('warn');
    const write = accessLog(logger);
    write(LINE);
    expect(lines).toEqual([]);
    logger.level = 'info';
    write(LINE);
    expect(lines).toHaveLength(1);
  });
});
