// The real Claude Code CLI (scripts/ensure-claude-code.sh installs it) through a real gateway in front of the
// mock: `claude -p` runs a tool (Read, on a file the test wrote) and ends, with the CLI's headers arriving
// upstream as it sent them and its session on one account.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicConfig, ANTHROPIC_KEYS } from '../helpers/anthropic.js';
import { recordArrivals, runClaudeCode, type Arrival, type ClaudeCodeRun } from '../helpers/claude-code.js';
import { CLIENT_KEY, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream, type RecordedRequest } from '../helpers/mock-upstream.js';
import { parsePrometheus, total } from '../helpers/prometheus.js';

const MODEL = 'claude-sonnet-4-6';
const SECRET = 'the secret word is pineapple';
const SESSION_HEADER = 'x-claude-code-session-id';

describe('Claude Code through the gateway to an anthropic upstream of two accounts', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let workdir: string;
  let arrivals: Arrival[];
  let run: ClaudeCodeRun;

  const messagesArrivals = (): Arrival[] => arrivals.filter((a) => a.method === 'POST' && a.url.startsWith('/v1/messages'));
  const messagesUpstream = (): RecordedRequest[] => mock.requests.filter((r) => r.path.startsWith('/v1/messages'));

  beforeAll(async () => {
    mock = await startMockUpstream({ apiKeys: [ANTHROPIC_KEYS.a, ANTHROPIC_KEYS.b] });
    gateway = await startGateway(anthropicConfig(mock.url));
    arrivals = recordArrivals(gateway);
    workdir = mkdtempSync(join(tmpdir(), 'claude-code-work-'));
    const note = join(workdir, 'note.txt');
    writeFileSync(note, `${SECRET}\n`);
    // The mock calls the tool the prompt names, with the backticked text as its argument (docs/anthropic.md).
    run = await runClaudeCode(`Use Read on \`${note}\` and tell me the secret word.`, {
      baseUrl: gateway.url,
      authToken: CLIENT_KEY,
      model: MODEL,
      cwd: workdir,
      args: ['--allowedTools', 'Read'],
    });
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    if (workdir !== undefined) rmSync(workdir, { recursive: true, force: true });
  });

  it('runs the Read tool and ends with its output', () => {
    expect(run, run.stderr).toMatchObject({ code: 0, signal: null });
    // The mock's last answer is "Tool output: " and what the tool gave back: the file, as Read numbers it.
    expect(run.stdout).toContain('Tool output:');
    expect(run.stdout).toContain(SECRET);
    const [call, answer] = messagesUpstream().map((r) => r.body as { messages: { role: string; content: unknown }[] });
    expect(JSON.stringify(call?.messages.at(-1))).not.toContain('tool_result');
    expect(JSON.stringify(answer?.messages.at(-1))).toContain(SECRET);
  });

  it('forwards every request with its anthropic-beta, anthropic-version and path exactly as the CLI sent them', () => {
    const sent = messagesArrivals();
    const received = messagesUpstream();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(received).toHaveLength(sent.length);
    sent.forEach((arrival, i) => {
      const upstream = received[i]!;
      expect(arrival.headers['anthropic-beta']).toMatch(/claude-code-/);
      expect(upstream.headers['anthropic-beta']).toBe(arrival.headers['anthropic-beta']);
      expect(upstream.headers['anthropic-version']).toBe(arrival.headers['anthropic-version']);
      expect(upstream.path).toBe(arrival.url);
      // The gateway key stays at the gateway; an account key goes upstream.
      expect(arrival.headers.authorization).toBe(`Bearer ${CLIENT_KEY}`);
      expect(Object.values(ANTHROPIC_KEYS)).toContain(upstream.headers['x-api-key']);
    });
  });

  it('keeps the session on one account', async () => {
    const sent = messagesArrivals();
    const sessions = new Set(sent.map((a) => a.headers[SESSION_HEADER]));
    expect(sessions.size).toBe(1);
    expect([...sessions][0]).toMatch(/^[0-9a-f-]{36}$/);
    // Without a pin the two equal accounts would take turns: one key for every request is the session's pin.
    const received = messagesUpstream();
    expect(new Set(received.map((r) => r.headers[SESSION_HEADER]))).toEqual(sessions);
    expect(new Set(received.map((r) => r.headers['x-api-key'])).size).toBe(1);
    const metrics = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
    const served = ['acct-a', 'acct-b'].filter((account) => total(metrics, 'gateway_requests_total', { account, model: MODEL }) > 0);
    expect(served).toHaveLength(1);
  });

  it('counts the session in the metrics: every request, its tokens and its prompt-cache writes', async () => {
    const metrics = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
    const labels = { client_key: 'team-alpha', model: MODEL };
    const lines = gateway.logs.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('POST /v1/messages'));
    expect(lines).toHaveLength(messagesUpstream().length);
    expect(total(metrics, 'gateway_requests_total', { ...labels, status: '200' })).toBe(lines.length);
    const logged = (type: string): number => lines.reduce((sum, l) => sum + Number((l.tokens as Record<string, number>)[type] ?? 0), 0);
    for (const type of ['prompt', 'completion', 'cache_write']) {
      expect(logged(type), type).toBeGreaterThan(0);
      expect(total(metrics, 'gateway_tokens_total', { ...labels, type }), type).toBe(logged(type));
    }
  });
});
