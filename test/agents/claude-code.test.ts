// The real Claude Code CLI (scripts/ensure-claude-code.sh installs it) through a real gateway in front of the
// mock, once on a Claude model of an `anthropic` pool and once on a chat model of an `openai` pool (the gateway
// translates): `claude -p` runs a tool (Read, on a file the test wrote) and ends, its session on one account.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { anthropicConfig, ANTHROPIC_KEYS } from '../helpers/anthropic.js';
import { recordArrivals, runClaudeCode, type Arrival, type ClaudeCodeRun } from '../helpers/claude-code.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream, type RecordedRequest } from '../helpers/mock-upstream.js';
import { parsePrometheus, total, type Exposition } from '../helpers/prometheus.js';

const SECRET = 'the secret word is pineapple';
const SESSION_HEADER = 'x-claude-code-session-id';
const OPENAI_KEYS = { a: 'sk-upstream-secret-a-0123456789', b: 'sk-upstream-secret-b-0123456789' } as const;

interface Session {
  mock: MockUpstream;
  gateway: RunningGateway;
  /** The CLI's requests to /v1/messages as they reached the gateway. */
  sent(): Arrival[];
  /** What reached the mock on the model's path (`/v1/messages` or `/v1/chat/completions`). */
  received(): RecordedRequest[];
  run: ClaudeCodeRun;
  metrics(): Promise<Exposition>;
}

/**
 * Before the suite's tests: a mock whose accounts are `upstreamKeys`, a gateway on `config`, and one
 * `claude -p` on `model` that is told to Read a file; after them, all closed.
 */
function useClaudeCodeSession(model: string, upstreamPath: string, upstreamKeys: string[], config: (mockUrl: string) => GatewayConfigInput): Session {
  const session = {} as Session;
  let workdir: string | undefined;
  beforeAll(async () => {
    const mock = await startMockUpstream({ apiKeys: upstreamKeys });
    const gateway = await startGateway(config(mock.url));
    const arrivals = recordArrivals(gateway);
    Object.assign(session, {
      mock,
      gateway,
      sent: () => arrivals.filter((a) => a.method === 'POST' && a.url.startsWith('/v1/messages')),
      received: () => mock.requests.filter((r) => r.path.startsWith(upstreamPath)),
      metrics: async () => parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text()),
    });
    workdir = mkdtempSync(join(tmpdir(), 'claude-code-work-'));
    const note = join(workdir, 'note.txt');
    writeFileSync(note, `${SECRET}\n`);
    // The mock calls the tool the prompt names, with the backticked text as its argument (docs/anthropic.md).
    session.run = await runClaudeCode(`Use Read on \`${note}\` and tell me the secret word.`, {
      baseUrl: gateway.url,
      authToken: CLIENT_KEY,
      model,
      cwd: workdir,
      args: ['--allowedTools', 'Read'],
    });
  }, 120_000);
  afterAll(async () => {
    await session.gateway?.close();
    await session.mock?.close();
    if (workdir !== undefined) rmSync(workdir, { recursive: true, force: true });
  });
  return session;
}

/** The CLI ran Read and ended with its output, which went back upstream. */
function expectToolRunToTheEnd(session: Session): void {
  const { run } = session;
  expect(run, run.stderr).toMatchObject({ code: 0, signal: null });
  // The mock's last answer is "Tool output: " and what the tool gave back: the file, as Read numbers it.
  expect(run.stdout).toContain('Tool output:');
  expect(run.stdout).toContain(SECRET);
  const bodies = session.received().map((r) => JSON.stringify(r.body));
  expect(bodies[0]).not.toContain(SECRET);
  expect(bodies.at(-1)).toContain(SECRET);
}

/** Every request of the one session went to one account, as the gateway's metrics say too. */
async function expectOneAccount(session: Session, upstreamKeyOf: (r: RecordedRequest) => unknown, model: string): Promise<void> {
  const sent = session.sent();
  const sessions = new Set(sent.map((a) => a.headers[SESSION_HEADER]));
  expect(sessions.size).toBe(1);
  expect([...sessions][0]).toMatch(/^[0-9a-f-]{36}$/);
  // Without a pin the two equal accounts would take turns: one key for every request is the session's pin.
  const received = session.received();
  expect(received).toHaveLength(sent.length);
  expect(received.length).toBeGreaterThanOrEqual(2);
  expect(new Set(received.map(upstreamKeyOf)).size).toBe(1);
  const metrics = await session.metrics();
  const served = ['acct-a', 'acct-b'].filter((account) => total(metrics, 'gateway_requests_total', { account, model }) > 0);
  expect(served).toHaveLength(1);
}

/** The metrics counted every request and the tokens each log line reports, of every `types`. */
async function expectCounted(session: Session, model: string, types: string[]): Promise<void> {
  const metrics = await session.metrics();
  const labels = { client_key: 'team-alpha', model, endpoint: '/v1/messages' };
  const lines = session.gateway.logs.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('POST /v1/messages'));
  expect(lines).toHaveLength(session.received().length);
  expect(total(metrics, 'gateway_requests_total', { ...labels, status: '200' })).toBe(lines.length);
  const logged = (type: string): number => lines.reduce((sum, l) => sum + Number((l.tokens as Record<string, number>)[type] ?? 0), 0);
  for (const type of types) {
    expect(logged(type), type).toBeGreaterThan(0);
    expect(total(metrics, 'gateway_tokens_total', { ...labels, type }), type).toBe(logged(type));
  }
}

describe('Claude Code on a Claude model, through the gateway to an anthropic pool of two accounts', () => {
  const model = 'claude-sonnet-4-6';
  const session = useClaudeCodeSession(model, '/v1/messages', Object.values(ANTHROPIC_KEYS), (url) => anthropicConfig(url));

  it('runs the Read tool and ends with its output', () => {
    expectToolRunToTheEnd(session);
  });

  it('forwards every request with its anthropic-beta, anthropic-version and path exactly as the CLI sent them', () => {
    const sent = session.sent();
    const received = session.received();
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
    await expectOneAccount(session, (r) => r.headers['x-api-key'], model);
    expect(new Set(session.received().map((r) => r.headers[SESSION_HEADER]))).toEqual(new Set(session.sent().map((a) => a.headers[SESSION_HEADER])));
  });

  it('counts the session in the metrics: every request, its tokens and its prompt-cache writes', async () => {
    await expectCounted(session, model, ['prompt', 'completion', 'cache_write']);
  });
});

describe('Claude Code on a chat model, translated to chat completions on an openai pool of two accounts', () => {
  const model = 'gpt-5.3-codex';
  const session = useClaudeCodeSession(model, '/v1/chat/completions', Object.values(OPENAI_KEYS), (url) =>
    testConfig(url, {
      upstreams: [
        {
          name: 'openai',
          baseUrl: url,
          models: [model],
          accounts: [
            { name: 'acct-a', apiKey: OPENAI_KEYS.a },
            { name: 'acct-b', apiKey: OPENAI_KEYS.b },
          ],
        },
      ],
    }),
  );

  it('runs the Read tool and ends with its output', () => {
    expectToolRunToTheEnd(session);
  });

  it('sends every request to the chat completions of the model, and nothing else upstream', () => {
    const { mock } = session;
    expect(mock.requests.map((r) => r.path)).toEqual(session.sent().map(() => '/v1/chat/completions'));
    for (const request of session.received()) {
      expect(request.body).toMatchObject({ model, stream: true });
      expect(request.headers['anthropic-beta']).toBeUndefined();
    }
  });

  it('keeps the session on one account', async () => {
    await expectOneAccount(session, (r) => r.headers.authorization, model);
  });

  it('counts the session in the metrics: every request and its tokens', async () => {
    await expectCounted(session, model, ['prompt', 'completion']);
  });
});
