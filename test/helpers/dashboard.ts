// The shipped Grafana dashboards and the PromQL in them, read for tests: their panels, queries and
// template variables, and the metric and label names an expression uses.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './gateway.js';

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId?: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  query: string | { query: string };
  includeAll?: boolean;
  allValue?: string | null;
  current?: { value: unknown };
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: TemplateVariable[] };
}

/** One PromQL expression of a dashboard: a panel target, or a template variable's query. */
export interface DashboardQuery {
  dashboard: string;
  /** The panel's title, or `variable <name>`. */
  panel: string;
  expr: string;
}

export const DASHBOARDS_DIR = 'config/grafana/dashboards';

/** Every dashboard JSON file in config/grafana/dashboards, by file name. */
export function loadDashboards(): Map<string, Dashboard> {
  const dir = join(ROOT, DASHBOARDS_DIR);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  return new Map(files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Dashboard]));
}

/** The panels that show data (rows left out), nested panels of collapsed rows included. */
export const dataPanels = (dashboard: Dashboard): Panel[] =>
  dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

export const variableQuery = (variable: TemplateVariable): string => (typeof variable.query === 'string' ? variable.query : variable.query.query);

export function panelQueries(file: string, dashboard: Dashboard): DashboardQuery[] {
  return dataPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: file, panel: p.title, expr: t.expr })));
}

export function variableQueries(file: string, dashboard: Dashboard): DashboardQuery[] {
  return dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ dashboard: file, panel: `variable ${v.name}`, expr: variableQuery(v) }));
}

/** A selector and the label names it matches on, from `name{label="..."}` or `name[range]`. */
export interface Selector {
  metric: string;
  labels: string[];
}

const withoutStrings = (expr: string): string => expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');

/** The metric selectors of an expression (and of Grafana's `label_values(metric, label)`). */
export function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  const text = withoutStrings(expr);
  for (const m of text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\}|\[)/g)) {
    const labels = m[3] === undefined ? [] : [...m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!);
    found.push({ metric: m[1]!, labels });
  }
  for (const m of text.matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g)) {
    found.push({ metric: m[1]!, labels: [m[2]!] });
  }
  return found;
}

/** Every name in an expression that looks like one of the gateway's or Node's metrics, bare ones included. */
export const metricNames = (expr: string): string[] => [
  ...new Set([...withoutStrings(expr).matchAll(/\b((?:gateway|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!)),
];

/** Label names in `by (...)` and `without (...)` clauses. */
export const groupingLabels = (expr: string): string[] =>
  [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()).filter((l) => l !== ''));

/** The metric family a series name belongs to: `x_bucket`, `x_sum` and `x_count` of a histogram are `x`. */
export function familyOf(name: string, types: Map<string, string>): string {
  const family = name.replace(/_(bucket|sum|count)$/, '');
  return family !== name && (types.get(family) === 'histogram' || types.get(family) === 'summary') ? family : name;
}
