// A real Prometheus, started from the shipped config/prometheus.yml and alert rules, scrapes a listening
// gateway that requires a metrics bearer token. Traffic of every kind goes through the gateway with the
// official openai client; then every PromQL expression of every shipped Grafana dashboard runs through
// Prometheus' query API: each must parse, return data, and query only metrics the gateway exports.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  familyOf,
  loadDashboards,
  metricNames,
  panelQueries,
  selectors,
  variableQuery,
  type Dashboard,
} from '../helpers/dashboard.js';
import { CLIENT_KEY, ROOT, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type Fault, type MockUpstream, type RecordedRequest } from '../helpers/mock-upstream.js';
import { familyNames, parsePrometheus, type Exposition } from '../helpers/prometheus.js';
import { PrometheusApiError, pollUntil, startPrometheus, type PrometheusServer, type QueryResult } from '../helpers/prometheus-server.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const METRICS_TOKEN = 'metrics-scrape-token-5d1c0b7e';
const LIMITED_KEY = 'gw-test-key-limited-42';
const ACCOUNT_KEYS = { 'acct-a': 'sk-upstream-secret-a-0123456789', 'acct-b': 'sk-upstream-secret-b-9876543210' };
/** The shipped scrape job: the alert rules and the dashboard's `$job` variable know it by this name. */
const JOB = 'ai-gateway';
/** A second job scraping without the token, to show the gateway refuses it. */
const JOB_WITHOUT_TOKEN = 'ai-gateway-without-token';
const SCRAPE_INTERVAL = '1s';

/**
 * Grafana's built-in interval variables, set as Grafana would for a 1 s scrape interval but wider, so a
 * loaded machine that takes a minute between the first request and the queries still finds every series.
 */
const BUILT_IN_VARIABLES: Record<string, string> = { __rate_interval: '5m', __interval: '15s', __range: '10m' };

/**
 * Panels (by title) allowed to return no data, with the reason. Everything else must return at least one
 * series with a number after the traffic below. The traffic includes every kind a panel shows (5xx, 429,
 * failovers, cached tokens, limits failing open), so no panel needs an entry today.
 */
const MAY_BE_EMPTY: Record<string, string> = {};

/** Metrics an alert rule may use that the gateway does not export yet, with what exports them. */
const PENDING_ALERT_METRICS: Record<string, string> = {
};

/** Marks the requests the mock fails: on account A only (the gateway fails over), or on every account. */
const FAIL_ON_A = 'please fail on account a';
const FAIL_EVERYWHERE = 'please fail on every account';

function fault(req: RecordedRequest): Fault | undefined {
  if (req.rawBody.includes(FAIL_EVERYWHERE)) return { kind: 'status', status: 503 };
  if (req.rawBody.includes(FAIL_ON_A) && req.headers.authorization === `Bearer ${ACCOUNT_KEYS['acct-a']}`) return { kind: 'status', status: 500 };
  return undefined;
}

/** config/prometheus.yml with its rule files made absolute, scraping `target` every second with the token. */
function prometheusConfig(target: string): object {
  const configPath = join(ROOT, 'config/prometheus.yml');
  const shipped = parseYaml(readFileSync(configPath, 'utf8')) as {
    global: Record<string, unknown>;
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const job = shipped.scrape_configs.find((c) => c.job_name === JOB);
  if (job === undefined) throw new Error(`config/prometheus.yml has no job ${JOB}`);
  const scrape = { ...job, static_configs: [{ targets: [target] }] };
  return {
    ...shipped,
    global: { ...shipped.global, scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL },
    rule_files: shipped.rule_files.map((f) => resolve(dirname(configPath), f)),
    scrape_configs: [
      { ...scrape, authorization: { type: 'Bearer', credentials: METRICS_TOKEN } },
      { ...scrape, job_name: JOB_WITHOUT_TOKEN },
    ],
  };
}

const hello = (text = 'Hello there'): OpenAI.Chat.ChatCompletionMessageParam[] => [{ role: 'user', content: text }];

/** Sends one request of every kind the dashboard shows, with the official client. */
async function sendTraffic(gateway: RunningGateway): Promise<void> {
  const client = gateway.client();
  await client.chat.completions.create({ model: 'gpt-4o', messages: hello() });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello(), stream: true, stream_options: { include_usage: true } });
  for await (const chunk of stream) void chunk;
  await client.images.generate({ model: 'gpt-image-2', prompt: 'a lighthouse at dusk' });
  expect((await client.models.list()).data.length).toBeGreaterThan(0);

  // A sticky conversation: pinned on its first request, a hit (with cached tokens) after that.
  const conversation = { headers: { 'X-Conversation-Id': 'conversation-dashboard-1' } };
  await client.chat.completions.create({ model: 'gpt-4o', messages: hello('Remember me') }, conversation);
  await client.chat.completions.create({ model: 'gpt-4o', messages: hello('Remember me') }, conversation);

  // Errors: the client's (unknown model, bad body, wrong key), and the upstream's (failover, then 5xx).
  await expect(client.chat.completions.create({ model: 'no-such-model', messages: hello() })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(client.chat.completions.create({ model: 'gpt-4o', messages: hello(), temperature: 7 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  await expect(gateway.client('gw-not-a-key').models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  await client.chat.completions.create({ model: 'gpt-4o', messages: hello(FAIL_ON_A) }, { headers: { 'X-Conversation-Id': 'conversation-failover' } });
  await expect(client.chat.completions.create({ model: 'gpt-4o', messages: hello(FAIL_EVERYWHERE) })).rejects.toBeInstanceOf(OpenAI.InternalServerError);

  // A rate-limited key (one request a minute): of two requests, at least one is refused.
  const limited = gateway.client(LIMITED_KEY);
  const answers = await Promise.allSettled([0, 1].map(() => limited.chat.completions.create({ model: 'gpt-4o', messages: hello() })));
  expect(answers.some((a) => a.status === 'rejected' && a.reason instanceof OpenAI.RateLimitError)).toBe(true);
}

async function scrapeGateway(gateway: RunningGateway): Promise<Exposition> {
  const res = await request(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.statusCode).toBe(200);
  return parsePrometheus(await res.body.text());
}

const firstValue = (result: QueryResult): number | undefined =>
  result.resultType === 'vector' && result.result.length > 0 ? Number(result.result[0]!.value[1]) : undefined;

/** Whether a result has at least one series, or scalar, with a number (not NaN) in it. */
function hasNumbers(result: QueryResult): boolean {
  switch (result.resultType) {
    case 'vector':
      return result.result.some((s) => !Number.isNaN(Number(s.value[1])));
    case 'matrix':
      return result.result.some((s) => s.values.some(([, v]) => !Number.isNaN(Number(v))));
    default:
      return !Number.isNaN(Number(result.result[1]));
  }
}

/** Replaces Grafana's `$name`, `${name}` and `[[name]]` with values; an unknown variable is an error. */
function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${whole} in: ${expr}`);
    return value;
  });
}

/**
 * Values for a dashboard's template variables, as Grafana picks them by default: "All" (the variable's
 * allValue) where the variable offers it, else the first value its `label_values` query returns.
 */
async function variableValues(prometheus: PrometheusServer, dashboard: Dashboard): Promise<Record<string, string>> {
  const values: Record<string, string> = { ...BUILT_IN_VARIABLES };
  for (const variable of dashboard.templating.list) {
    if (variable.type === 'datasource') continue;
    if (variable.type !== 'query') throw new Error(`variable ${variable.name} has type ${variable.type}, which this test cannot fill in`);
    const query = /^label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)$/.exec(variableQuery(variable));
    if (query === null) throw new Error(`variable ${variable.name}: only label_values(metric, label) queries are understood`);
    const found = await prometheus.labelValues(query[2]!, query[1]!);
    expect(found.length, `variable ${variable.name} offers no values`).toBeGreaterThan(0);
    values[variable.name] = variable.includeAll && variable.allValue ? variable.allValue : found[0]!;
  }
  return values;
}

describe('a real Prometheus scraping a gateway, and the dashboards on it', () => {
  let redis: RedisServer;
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let prometheus: PrometheusServer;
  let exposition: Exposition;
  /** When every query is evaluated: after Prometheus has seen all the traffic, twice. */
  let evaluatedAt: number;

  /** Resolves with the time (Unix seconds) once Prometheus has scraped the request and fail-open counts of `seen`. */
  async function waitForScrapeOf(seen: Exposition): Promise<number> {
    const total = (name: string): number => seen.samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
    const requests = total('gateway_requests_total');
    const failOpen = total('gateway_rate_limit_fail_open_total');
    return pollUntil(
      'Prometheus to scrape all the traffic',
      async () => {
        const scrapedRequests = firstValue(await prometheus.query(`sum(gateway_requests_total{job="${JOB}"})`));
        const scrapedFailOpen = firstValue(await prometheus.query(`sum(gateway_rate_limit_fail_open_total{job="${JOB}"})`));
        return scrapedRequests === requests && scrapedFailOpen === failOpen ? Date.now() / 1000 : undefined;
      },
      90_000,
    );
  }

  beforeAll(async () => {
    redis = await startRedis();
    mock = await startMockUpstream({ fault });
    gateway = await startGateway(
      testConfig(mock.url, {
        clientKeys: [
          // A budget, so the spend row's budget panel has a key to show; a team, so the team row has one.
          { name: 'team-alpha', key: CLIENT_KEY, limits: { usdPerDay: 100 }, team: 'platform' },
          { name: 'team-limited', key: LIMITED_KEY, limits: { requestsPerMinute: 1 } },
        ],
        upstreams: [
          {
            name: 'mock',
            baseUrl: mock.url,
            models: ['*'],
            accounts: Object.entries(ACCOUNT_KEYS).map(([name, apiKey]) => ({ name, apiKey })),
          },
        ],
        teams: [{ name: 'platform' }],
        // A failed account rests only briefly, so the request that fails everywhere leaves the pool usable.
        health: { cooldownMs: 1 },
        redis: { url: redis.url },
        metrics: { bearerToken: METRICS_TOKEN },
      }),
    );
    prometheus = await startPrometheus(prometheusConfig(gateway.url.replace(/^http:\/\//, '')));
    await pollUntil('the first scrape of the gateway', async () => ((await prometheus.targets()).some((t) => t.labels.job === JOB && t.health === 'up') ? true : undefined));

    // Prometheus takes a series' first sample as its start, so a counter's first increment never shows
    // in rate(): the traffic goes through twice, the second time after Prometheus has seen the first.
    await sendTraffic(gateway);
    await waitForScrapeOf(await scrapeGateway(gateway));
    await sendTraffic(gateway);
    // Redis goes away: the limited key's next request passes unchecked (limits fail open).
    await redis.kill();
    await gateway.client(LIMITED_KEY).chat.completions.create({ model: 'gpt-4o', messages: hello() });
    exposition = await scrapeGateway(gateway);
    expect(exposition.samples.find((s) => s.name === 'gateway_rate_limit_fail_open_total')?.value).toBeGreaterThan(0);
    const seenAt = await waitForScrapeOf(exposition);
    // Two more scrapes, so every series has samples after its last increment too.
    evaluatedAt = await pollUntil(
      'two more scrapes',
      async () => {
        const last = firstValue(await prometheus.query(`timestamp(up{job="${JOB}"})`));
        return last !== undefined && last > seenAt + 2.5 ? last : undefined;
      },
      60_000,
    );
  }, 240_000);

  afterAll(async () => {
    await prometheus?.stop();
    await gateway?.close();
    await mock?.close();
    await redis?.stop();
  });

  it('scrapes with the bearer token, and the gateway refuses a scrape without it', async () => {
    const targets = await prometheus.targets();
    expect(targets.find((t) => t.labels.job === JOB)).toMatchObject({ health: 'up', lastError: '' });
    const refused = targets.find((t) => t.labels.job === JOB_WITHOUT_TOKEN);
    expect(refused?.health).toBe('down');
    expect(refused!.lastError).toContain('401');
    expect(firstValue(await prometheus.query(`up{job="${JOB_WITHOUT_TOKEN}"}`))).toBe(0);
  });

  it('loads the shipped alert rules and evaluates every one without error', async () => {
    const shipped = parseYaml(readFileSync(join(ROOT, 'config/prometheus/alerts.yml'), 'utf8')) as { groups: { name: string; rules: { alert: string }[] }[] };
    const groups = await pollUntil('every rule to be evaluated', async () => {
      const loaded = await prometheus.ruleGroups();
      return loaded.flatMap((g) => g.rules).every((r) => r.health === 'ok') ? loaded : undefined;
    });
    expect(groups.map((g) => [g.name, g.rules.map((r) => r.name)])).toEqual(shipped.groups.map((g) => [g.name, g.rules.map((r) => r.alert)]));
  }, 90_000);

  it('has alert rules that use only metrics the gateway exports (or will, as listed)', () => {
    const exported = familyNames(exposition);
    const shipped = parseYaml(readFileSync(join(ROOT, 'config/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    for (const rule of shipped.groups.flatMap((g) => g.rules)) {
      const used = new Set([...selectors(rule.expr).map((s) => s.metric), ...metricNames(rule.expr)]);
      for (const metric of used) {
        if (metric === 'up') continue;
        const known = exported.has(metric) || exported.has(familyOf(metric, exposition.types));
        expect(known || metric in PENDING_ALERT_METRICS, `${rule.alert}: ${metric} is not in /metrics`).toBe(true);
        expect(known && metric in PENDING_ALERT_METRICS, `${metric} is exported now: drop it from PENDING_ALERT_METRICS`).toBe(false);
      }
    }
  });

  const dashboards = loadDashboards();

  it('ships at least one dashboard with queries', () => {
    expect(dashboards.size).toBeGreaterThan(0);
    for (const [file, dashboard] of dashboards) expect(panelQueries(file, dashboard).length, file).toBeGreaterThan(0);
  });

  for (const [file, dashboard] of dashboards) {
    it(`${file}: every panel query parses, returns data and uses only exported metrics`, async () => {
      const values = await variableValues(prometheus, dashboard);
      const exported = familyNames(exposition);
      const problems: string[] = [];
      for (const { panel, expr } of panelQueries(file, dashboard)) {
        const where = `${panel}: ${expr}`;
        for (const metric of new Set([...selectors(expr).map((s) => s.metric), ...metricNames(expr)])) {
          if (!exported.has(metric)) problems.push(`${where}\n    queries ${metric}, which the gateway does not export`);
        }
        let result: QueryResult;
        try {
          result = await prometheus.query(substitute(expr, values), evaluatedAt);
        } catch (err) {
          if (!(err instanceof PrometheusApiError)) throw err;
          problems.push(`${where}\n    ${err.message}`);
          continue;
        }
        if (hasNumbers(result)) continue;
        if (!(panel in MAY_BE_EMPTY)) problems.push(`${where}\n    returned no data`);
      }
      expect(problems, problems.join('\n')).toEqual([]);
    }, 60_000);
  }

  it('lists as possibly empty only panels that exist', () => {
    const titles = [...dashboards].flatMap(([file, dashboard]) => panelQueries(file, dashboard).map((q) => q.panel));
    for (const panel of Object.keys(MAY_BE_EMPTY)) expect(titles, `MAY_BE_EMPTY names no panel "${panel}"`).toContain(panel);
  });

  it('reports an expression that does not parse, and finds nothing for a metric that does not exist', async () => {
    await expect(prometheus.query('sum(rate(gateway_requests_total[5m])', evaluatedAt)).rejects.toMatchObject({ errorType: 'bad_data' });
    const missing = await prometheus.query('sum(rate(gateway_no_such_metric_total[5m]))', evaluatedAt);
    expect(hasNumbers(missing)).toBe(false);
  });

  it('agrees with the gateway on what it counted', async () => {
    const query = async (expr: string): Promise<number | undefined> => firstValue(await prometheus.query(expr, evaluatedAt));
    const sumOf = (name: string, labels: Record<string, string> = {}): number =>
      exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
    expect((await query(`sum(gateway_requests_total{job="${JOB}",status="429"})`))).toBe(sumOf('gateway_requests_total', { status: '429' }));
    expect(sumOf('gateway_requests_total', { status: '429' })).toBeGreaterThanOrEqual(2);
    expect((await query(`sum(gateway_upstream_errors_total{job="${JOB}",account="acct-a"})`))).toBe(sumOf('gateway_upstream_errors_total', { account: 'acct-a' }));
    expect(sumOf('gateway_upstream_errors_total', { account: 'acct-a' })).toBeGreaterThanOrEqual(2);
    expect((await query(`sum(gateway_sticky_routing_total{job="${JOB}",result="hit"})`))).toBeGreaterThanOrEqual(1);
    expect((await query(`sum(gateway_tokens_total{job="${JOB}",type="cached"})`))).toBeGreaterThan(0);
  });
});
