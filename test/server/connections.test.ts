import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { ConnectionRejections, defaultMaxConnections, openFileLimit, parseOpenFileLimit, type RejectionReason } from '../../src/server/connections.js';
import { captureLogs, testConfig } from '../helpers/gateway.js';
import { manualClock } from '../helpers/manual-clock.js';

const PROC_LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('listen.maxConnections default', () => {
  it('reads the soft file limit from /proc/self/limits', () => {
    expect(parseOpenFileLimit(PROC_LIMITS)).toBe(20_000);
    expect(parseOpenFileLimit(PROC_LIMITS.replace('20000 ', 'unlimited '))).toBeUndefined();
    expect(parseOpenFileLimit('')).toBeUndefined();
  });

  it('is half of the file descriptors left after a reserve, and assumes 1,024 when the limit is unknown', () => {
    expect(defaultMaxConnections(20_000)).toBe(9_968);
    expect(defaultMaxConnections(undefined)).toBe(480);
    expect(defaultMaxConnections(10)).toBe(1);
  });

  it("is what a gateway without the setting applies, from this process's own limit", async () => {
    const limit = parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
    expect(openFileLimit()).toBe(limit);
    const app = await buildApp(parseConfig(testConfig('http://127.0.0.1:9/v1')), { logStream: captureLogs() });
    try {
      expect(app.server.maxConnections).toBe(defaultMaxConnections(limit));
      expect(app.server.maxConnections).toBeLessThan(limit ?? 1_024);
    } finally {
      await app.close();
    }
  });

  it('gives way to listen.maxConnections, and takes headersMs (10 s by default, never over clientBodyMs) as the headers timeout', async () => {
    const configured = await buildApp(
      parseConfig(testConfig('http://127.0.0.1:9/v1', { listen: { host: '127.0.0.1', port: 0, maxConnections: 123 }, timeouts: { headersMs: 700 } })),
      { logStream: captureLogs() },
    );
    const defaults = await buildApp(parseConfig(testConfig('http://127.0.0.1:9/v1')), { logStream: captureLogs() });
    const capped = await buildApp(parseConfig(testConfig('http://127.0.0.1:9/v1', { timeouts: { clientBodyMs: 4_000 } })), { logStream: captureLogs() });
    try {
      expect(configured.server.maxConnections).toBe(123);
      expect(configured.server.headersTimeout).toBe(700);
      expect(defaults.server.headersTimeout).toBe(10_000);
      expect(capped.server.headersTimeout).toBe(4_000);
    } finally {
      await Promise.all([configured.close(), defaults.close(), capped.close()]);
    }
  });
});

describe('ConnectionRejections', () => {
  function setup(): { rejections: ConnectionRejections; clock: ReturnType<typeof manualClock>; summaries: () => Record<string, number>[]; counted: RejectionReason[] } {
    const logs = captureLogs();
    const clock = manualClock();
    const counted: RejectionReason[] = [];
    const rejections = new ConnectionRejections(pino({}, logs), (reason) => counted.push(reason), clock);
    const summaries = (): Record<string, number>[] => logs.lines.map((l) => l.rejectedConnections as Record<string, number>);
    return { rejections, clock, summaries, counted };
  }

  it('logs the first rejection at once, sums the rest of the minute into one line at its end, and counts each', () => {
    const { rejections, clock, summaries, counted } = setup();
    rejections.record('headers_timeout');
    expect(summaries()).toEqual([{ headers_timeout: 1, body_timeout: 0, too_many_connections: 0 }]);
    for (let i = 0; i < 1_000; i++) {
      rejections.record('too_many_connections');
      clock.advance(10);
    }
    rejections.record('body_timeout');
    expect(summaries()).toHaveLength(1);
    clock.advance(60_000 - 10_000 - 1);
    expect(summaries()).toHaveLength(1);
    clock.advance(1);
    expect(summaries()).toEqual([
      { headers_timeout: 1, body_timeout: 0, too_many_connections: 0 },
      { headers_timeout: 0, body_timeout: 1, too_many_connections: 1_000 },
    ]);
    expect(counted).toHaveLength(1_002);
  });

  it('logs at once again after a quiet minute, and nothing for a minute without rejections', () => {
    const { rejections, clock, summaries } = setup();
    rejections.record('headers_timeout');
    clock.advance(5 * 60_000);
    expect(summaries()).toHaveLength(1);
    rejections.record('headers_timeout');
    expect(summaries()).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('leaves no timer behind when closed', () => {
    const { rejections, clock, summaries } = setup();
    rejections.record('headers_timeout');
    rejections.record('headers_timeout');
    expect(clock.pending).toBe(1);
    rejections.close();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(summaries()).toHaveLength(1);
  });
});
