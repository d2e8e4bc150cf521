// The container files and the dashboard, checked without Docker: the compose file, Dockerfile, Prometheus
// and Grafana configs are parsed, and every metric a dashboard panel queries must exist in a live
// gateway's own /metrics output.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { ENDPOINTS } from '../../src/metrics/gateway-metrics.js';
import { CLIENT_KEY, GATEWAY_NODE_FLAGS, ROOT, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { dataPanels, familyOf, groupingLabels, loadDashboards, metricNames, panelQueries, selectors, variableQueries } from '../helpers/dashboard.js';
import { find, parsePrometheus, type Exposition } from '../helpers/prometheus.js';

type Json = Record<string, unknown>;

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const yamlFile = (path: string): Json => parseYaml(read(path)) as Json;

interface ComposeService {
  build?: string | { context: string };
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition: string }>;
}

const compose = yamlFile('docker-compose.yml') as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

interface Bind {
  /** Path in the repository, without the leading `./`. */
  source: string;
  target: string;
  mode: string | undefined;
}

/** `./source:target[:mode]` bind mounts of a service. */
function binds(name: string): Bind[] {
  return (service(name).volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([source]) => source!.startsWith('./'))
    .map(([source, target, mode]) => ({ source: source!.slice(2), target: target!, mode }));
}

/** Where a repository file is seen in a service's container, through the mount of it or of a folder above it. */
function containerPath(name: string, repoPath: string): string | undefined {
  const bind = binds(name).find((b) => repoPath === b.source || repoPath.startsWith(`${b.source}/`));
  return bind && posix.join(bind.target, repoPath.slice(bind.source.length));
}

/** The repository file a path in a service's container shows, if a bind mount covers it. */
function repoPath(name: string, inContainer: string): string | undefined {
  const bind = binds(name).find((b) => inContainer === b.target || inContainer.startsWith(`${b.target}/`));
  return bind && posix.join(bind.source, inContainer.slice(bind.target.length));
}

const waitsFor = (name: string, other: string): string | undefined => {
  const dependsOn = service(name).depends_on;
  return Array.isArray(dependsOn) ? (dependsOn.includes(other) ? 'service_started' : undefined) : dependsOn?.[other]?.condition;
};

describe('docker-compose.yml', () => {
  it('runs the gateway, redis, prometheus and grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'grafana', 'prometheus', 'redis']);
    const build = service('gateway').build;
    expect(typeof build === 'string' ? build : build?.context).toBe('.');
    for (const name of ['redis', 'prometheus', 'grafana']) expect(service(name).image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
  });

  it('publishes the gateway, prometheus and grafana ports', () => {
    expect(service('gateway').ports).toContain('8080:8080');
    expect(service('prometheus').ports).toContain('9090:9090');
    expect(service('grafana').ports).toContain('3000:3000');
  });

  it('gives the gateway its keys, upstream and redis through the environment', () => {
    const env = service('gateway').environment ?? {};
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['GATEWAY_API_KEY', 'UPSTREAM_API_KEY', 'UPSTREAM_BASE_URL', 'REDIS_URL']));
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    // Secrets come from the caller's environment or .env, never from the file itself.
    expect(env.GATEWAY_API_KEY).toMatch(/^\$\{GATEWAY_API_KEY[:?}]/);
    expect(env.UPSTREAM_API_KEY).toMatch(/^\$\{UPSTREAM_API_KEY[:?}]/);
  });

  it('mounts config folders, read-only, never single files (an edited file must be seen on SIGHUP)', () => {
    const mounts = Object.keys(compose.services).flatMap(binds);
    expect(mounts.length).toBeGreaterThanOrEqual(3);
    for (const { source, mode } of mounts) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      // An editor saves a file as a new inode; a single-file bind mount keeps showing the old one.
      expect(statSync(join(ROOT, source)).isDirectory(), `${source} is mounted as a single file`).toBe(true);
      expect(mode, source).toBe('ro');
    }
    const named = Object.keys(compose.services)
      .flatMap((name) => service(name).volumes ?? [])
      .map((v) => v.split(':')[0]!)
      .filter((source) => !source.startsWith('./') && !source.startsWith('/'));
    for (const volume of named) expect(Object.keys(compose.volumes ?? {}), volume).toContain(volume);
  });

  it('mounts config/ where the image keeps its config, so the gateway reads the edited files', () => {
    expect(containerPath('gateway', 'config/gateway.yaml')).toBe(service('gateway').environment?.GATEWAY_CONFIG);
    // The default catalog is config/models.yaml beside dist/ (WORKDIR /app in the image).
    expect(containerPath('gateway', 'config/models.yaml')).toBe('/app/config/models.yaml');
  });

  it('gives the gateway a config that is valid with the environment compose passes it', () => {
    const config = loadConfigFile(join(ROOT, 'config/gateway.yaml'), {
      GATEWAY_API_KEY: 'gw-compose-key',
      UPSTREAM_API_KEY: 'sk-compose-upstream',
      REDIS_URL: 'redis://redis:6379',
    });
    expect(config.listen.port).toBe(8080);
    expect(config.redis).toMatchObject({ url: 'redis://redis:6379' });
    expect(config.metrics.enabled).toBe(true);
  });

  it('starts each service once what it needs is healthy', () => {
    // The gateway's health check is the image's HEALTHCHECK (see the Dockerfile tests); compose keeps it on.
    expect(service('gateway').healthcheck?.disable).not.toBe(true);
    expect(service('redis').healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(service('prometheus').healthcheck?.test?.join(' ')).toMatch(/^CMD wget .*http:\/\/127\.0\.0\.1:9090\/-\/ready$/);
    expect(waitsFor('gateway', 'redis')).toBe('service_healthy');
    expect(waitsFor('prometheus', 'gateway')).toBe('service_healthy');
    expect(waitsFor('grafana', 'prometheus')).toBe('service_healthy');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  const runtime = stages.at(-1) ?? [];

  it('builds in several stages on a Node LTS image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const image = /^FROM\s+node:(\d+)[\w.-]*\s+AS\s+\w+$/i.exec(stage[0]!);
      expect(image, stage[0]).not.toBeNull();
      expect(Number(image![1]) % 2, 'even Node majors are the LTS lines').toBe(0);
    }
    expect(stages[0]!.some((l) => /^RUN npm ci\b/.test(l))).toBe(true);
    expect(stages[0]!.some((l) => /^RUN npm run build\b/.test(l))).toBe(true);
  });

  it('runs as a non-root user with production dependencies only and a health check', () => {
    const user = runtime.filter((l) => /^USER\s/i.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user!.split(/\s+/)[1]).not.toMatch(/^(root|0)(:.*)?$/);
    expect(runtime.some((l) => /^RUN npm ci\b.*--omit=dev\b.*--ignore-scripts\b/.test(l))).toBe(true);
    expect(runtime.some((l) => /^COPY --from=\w+ \/app\/dist \.\/dist$/.test(l))).toBe(true);
    // /app/config: where compose mounts config/ over the copy in the image.
    expect(runtime).toContain('WORKDIR /app');
    expect(runtime.some((l) => /^COPY config \.\/config$/.test(l))).toBe(true);
    expect(runtime).toContain('EXPOSE 8080');
    expect(runtime.some((l) => /^HEALTHCHECK\b.*\/healthz/.test(l))).toBe(true);
    expect(runtime.at(-1)).toBe(`CMD ["node", ${GATEWAY_NODE_FLAGS.map((f) => `"${f}"`).join(', ')}, "dist/main.js"]`);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${GATEWAY_NODE_FLAGS.join(' ')} dist/main.js`);
  });

  it('keeps local build output, dependencies and secrets out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.env']));
  });
});

describe('prometheus and grafana configs', () => {
  const flag = (name: string): string | undefined =>
    (service('prometheus').command ?? []).find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

  it('runs prometheus on the shipped config, which scrapes the gateway service on its metrics path', () => {
    expect(flag('config.file')).toBe(containerPath('prometheus', 'config/prometheus.yml'));
    const prometheus = yamlFile('config/prometheus.yml') as { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };
    const job = prometheus.scrape_configs.find((c) => c.static_configs.some((s) => s.targets.includes('gateway:8080')));
    expect(job).toBeDefined();
    expect(job!.job_name).toBe('ai-gateway');
    expect(job!.metrics_path ?? '/metrics').toBe('/metrics');
  });

  it('has prometheus load the alert rules from the mounted config folder', () => {
    const configFile = flag('config.file')!;
    const { rule_files: ruleFiles = [] } = yamlFile('config/prometheus.yml') as { rule_files?: string[] };
    // Prometheus resolves rule files against the directory of its config file.
    const loaded = ruleFiles.map((f) => repoPath('prometheus', posix.resolve(posix.dirname(configFile), f)));
    expect(loaded).toContain('config/prometheus/alerts.yml');
    for (const file of loaded) expect(file !== undefined && existsSync(join(ROOT, file)), String(file)).toBe(true);
  });

  it('provisions the prometheus data source and the dashboards folder grafana mounts', () => {
    const datasources = yamlFile('config/grafana/provisioning/datasources/prometheus.yml') as { datasources: Json[] };
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' })]);
    const providers = yamlFile('config/grafana/provisioning/dashboards/dashboards.yml') as { providers: { type: string; options: { path: string } }[] };
    const dashboardsMount = containerPath('grafana', 'config/grafana/dashboards');
    expect(dashboardsMount).toBeDefined();
    expect(providers.providers.map((p) => p.options.path)).toContain(dashboardsMount);
    expect(containerPath('grafana', 'config/grafana/provisioning/datasources')).toBe('/etc/grafana/provisioning/datasources');
    expect(containerPath('grafana', 'config/grafana/provisioning/dashboards')).toBe('/etc/grafana/provisioning/dashboards');
    expect(statSync(join(ROOT, 'config/grafana/dashboards/ai-gateway.json')).isFile()).toBe(true);
    const home = service('grafana').environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(home && repoPath('grafana', home)).toBe('config/grafana/dashboards/ai-gateway.json');
  });
});

const dashboard = loadDashboards().get('ai-gateway.json')!;
const panels = dataPanels(dashboard);
const panelExprs = panelQueries('ai-gateway.json', dashboard);
const queries = [...panelExprs, ...variableQueries('ai-gateway.json', dashboard)];

/** Labels Prometheus adds to every series it scrapes, so they are not in the gateway's output. */
const TARGET_LABELS = ['job', 'instance'];

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

describe('the Grafana dashboard', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  let exposition: Exposition;

  beforeAll(async () => {
    mock = await startMockUpstream();
    // A key with a spend budget, so that the budget panel's metric has series.
    gateway = await startGateway(testConfig(mock.url, { clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY, limits: { usdPerDay: 100 } }] }));
    const client = gateway.client();
    const hello = [{ role: 'user' as const, content: 'Hello there' }];
    await client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: hello, stream: true });
    for await (const chunk of stream) void chunk;
    await client.images.generate({ model: 'gpt-image-2', prompt: 'a lighthouse at dusk' });
    await client.models.list();
    await expect(client.chat.completions.create({ model: 'no-such-model', messages: hello })).rejects.toMatchObject({ status: 404 });
    const res = await request(`${gateway.url}/metrics`);
    exposition = parsePrometheus(await res.body.text());
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('is an importable dashboard whose panels query through the data source variable', () => {
    expect(dashboard.uid).toBe('ai-gateway');
    expect(dashboard.title).toBeTruthy();
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const datasource = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(datasource).toBeDefined();
    expect(datasource!.current?.value).toBe('prometheus');
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(`\${${datasource!.name}}`);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr.trim(), panel.title).not.toBe('');
    }
  });

  it('has the panels a team looks at', () => {
    const titles = panels.map((p) => p.title.toLowerCase());
    for (const wanted of [
      'tokens per model',
      'tokens per client key',
      'cached-token ratio',
      'request rate',
      'error rate',
      'request duration p50 / p95 / p99',
      'time to first token p50 / p95 / p99',
      'gateway overhead',
      'upstream errors',
      'sticky routing',
    ]) {
      expect(titles.some((t) => t.includes(wanted)), wanted).toBe(true);
    }
    const all = panelExprs.map((q) => q.expr).join('\n');
    for (const quantile of ['0.5', '0.95', '0.99']) {
      expect(all).toContain(`histogram_quantile(${quantile}, sum by (le) (rate(gateway_request_duration_seconds_bucket`);
      expect(all).toContain(`histogram_quantile(${quantile}, sum by (le) (rate(gateway_time_to_first_token_seconds_bucket`);
    }
  });

  it("queries only metrics, and labels, that the gateway's own /metrics output has", () => {
    const seriesNames = new Set(exposition.samples.map((s) => s.name));
    const used = new Set<string>();
    for (const { panel, expr } of queries) {
      const found = selectors(expr);
      expect(found.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const { metric, labels } of found) {
        expect(PROMQL_WORDS.has(metric), `${panel}: ${metric}`).toBe(false);
        const family = familyOf(metric, exposition.types);
        expect(exposition.types.has(family), `${panel}: ${metric} is not in /metrics`).toBe(true);
        expect(seriesNames.has(metric), `${panel}: ${metric} has no samples`).toBe(true);
        used.add(family);
        const known = new Set([...TARGET_LABELS, ...find(exposition, metric).flatMap((s) => Object.keys(s.labels))]);
        for (const label of labels) expect(known.has(label), `${panel}: ${metric} has no label ${label}`).toBe(true);
      }
      // Every grouping label is a label of one of the expression's metrics (or the histogram's le).
      const labelsOfExpr = new Set([...TARGET_LABELS, ...found.flatMap(({ metric }) => find(exposition, metric).flatMap((s) => Object.keys(s.labels)))]);
      for (const label of groupingLabels(expr)) expect(labelsOfExpr.has(label), `${panel}: grouping label ${label}`).toBe(true);
      // Belt and braces: any gateway, process or Node.js metric name mentioned at all exists.
      for (const name of metricNames(expr)) expect(seriesNames.has(name) || exposition.types.has(name), `${panel}: ${name}`).toBe(true);
    }
    // And every gateway metric has a panel.
    const gatewayFamilies = [...exposition.types.keys()].filter((name) => name.startsWith('gateway_'));
    expect(gatewayFamilies.sort()).toEqual([...used].filter((name) => name.startsWith('gateway_')).sort());
  });

  it('filters with label values the gateway really produces', () => {
    const endpoints = new Set(find(exposition, 'gateway_requests_total').map((s) => s.labels.endpoint));
    for (const endpoint of endpoints) expect([...ENDPOINTS, 'none']).toContain(endpoint);
    const types = new Set(find(exposition, 'gateway_tokens_total').map((s) => s.labels.type));
    expect([...types].sort()).toEqual(['cached', 'completion', 'prompt', 'reasoning']);
    const all = panelExprs.map((q) => q.expr).join('\n');
    for (const m of all.matchAll(/type(?:=~|=)"([^"]*)"/g)) {
      for (const value of m[1]!.split('|')) expect(types.has(value), `type ${value}`).toBe(true);
    }
    for (const m of all.matchAll(/result(?:=~|=)"([^"]*)"/g)) {
      for (const value of m[1]!.split('|')) expect(['hit', 'new', 'repinned', 'fallback']).toContain(value);
    }
  });
});
