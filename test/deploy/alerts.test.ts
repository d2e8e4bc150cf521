// The shipped Prometheus config and alert rules, checked and unit-tested with a real promtool.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/gateway.js';
import { promtool } from '../helpers/prometheus-server.js';

const PROMETHEUS_CONFIG = 'config/prometheus.yml';
const ALERTS = 'config/prometheus/alerts.yml';
const ALERT_TESTS = 'config/prometheus/alerts.test.yml';

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

interface RuleTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const yamlAt = <T>(path: string): T => parseYaml(readFileSync(join(ROOT, path), 'utf8')) as T;
const alerts = yamlAt<RuleFile>(ALERTS).groups.flatMap((g) => g.rules);

describe('promtool on the shipped Prometheus files', () => {
  it('accepts config/prometheus.yml, and it loads the alert rules', () => {
    const config = yamlAt<{ rule_files?: string[] }>(PROMETHEUS_CONFIG);
    // Relative rule paths are resolved against the config file's directory, in compose as here.
    expect((config.rule_files ?? []).map((f) => join(dirname(PROMETHEUS_CONFIG), f))).toContain(ALERTS);
    const { status, output } = promtool(['check', 'config', PROMETHEUS_CONFIG], ROOT);
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${PROMETHEUS_CONFIG} is valid`);
    expect(output).toMatch(new RegExp(`Checking ${ALERTS}\\s+SUCCESS: ${alerts.length} rules found`));
  });

  it('accepts every rule file the config loads', () => {
    for (const file of yamlAt<{ rule_files?: string[] }>(PROMETHEUS_CONFIG).rule_files ?? []) {
      const { status, output } = promtool(['check', 'rules', join(dirname(PROMETHEUS_CONFIG), file)], ROOT);
      expect(status, output).toBe(0);
    }
  });

  it('passes the alert unit tests', () => {
    const { status, output } = promtool(['test', 'rules', ALERT_TESTS], ROOT);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('unit-tests every alert both firing and quiet', () => {
    const tests = yamlAt<RuleTests>(ALERT_TESTS);
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const checks = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const rule of alerts) {
      const mine = checks.filter((c) => c.alertname === rule.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${rule.alert} is never expected to fire`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${rule.alert} is never expected to stay quiet`).toBe(true);
    }
  });

  it('gives every alert a severity, a summary and a description', () => {
    expect(alerts.length).toBeGreaterThan(0);
    for (const rule of alerts) {
      expect(rule.alert, rule.expr).toMatch(/^Gateway[A-Za-z0-9]+$/);
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
    const names = alerts.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('fails on a rule that does not parse, so the checks above mean something', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      const broken = { groups: [{ name: 'broken', rules: [{ alert: 'Broken', expr: 'sum(rate(gateway_requests_total[5m])' }] }] };
      writeFileSync(join(dir, 'broken.yml'), toYaml(broken));
      const { status, output } = promtool(['check', 'rules', 'broken.yml'], dir);
      expect(status, output).not.toBe(0);
      expect(output).toMatch(/parse error/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
