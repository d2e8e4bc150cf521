// What CI runs, kept consistent: .ci/run runs the README's test command and then the Node matrix, whose
// Node lines are the ones `engines` names, with the openai releases the SDK tests expect.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/gateway.js';
import { OPENAI_SDK_PACKAGES } from '../helpers/openai-sdk.js';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** The commands of a shell script: its lines without comments, blank lines and shell settings. */
const commands = (path: string): string[] =>
  read(path)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));

const matrix = read('scripts/ci-node-matrix.sh');
const matrixMajors = (/^NODE_MAJORS=\(([\d ]+)\)$/m.exec(matrix)?.[1] ?? '').split(' ').map(Number);
const baseMajor = Number(/^BASE_NODE_MAJOR=(\d+)$/m.exec(matrix)?.[1]);

describe('CI', () => {
  it('runs npm ci, the README test command, then the Node matrix', () => {
    expect(commands('.ci/run')).toEqual(['npm ci', 'npm test', 'bash scripts/ci-node-matrix.sh']);
    expect(pkg.scripts.test).toBe('bash scripts/test.sh');
    const readme = read('README.md');
    expect(readme).toContain('npm test ');
    expect(readme).toContain('bash .ci/run');
    expect(readme).toContain('bash scripts/ci-node-matrix.sh');
  });

  it('installs and checks the real services and the Claude Code CLI before vitest', () => {
    expect(commands('scripts/test.sh')).toEqual([
      'bash scripts/ensure-redis.sh',
      'bash scripts/ensure-postgres.sh',
      'bash scripts/ensure-prometheus.sh',
      'bash scripts/ensure-chromium.sh',
      // An assignment of its own, so that set -e stops the script when the install fails.
      'CLAUDE_CODE_BIN="$(bash scripts/ensure-claude-code.sh)"',
      'export CLAUDE_CODE_BIN',
      'promtool check config config/prometheus.yml',
      'npx vitest run "$@"',
    ]);
  });

  it('names in engines exactly the Node lines it tests', () => {
    expect(baseMajor).toBe(20);
    expect(matrixMajors).toEqual([22, 24, 26]);
    const ranges = pkg.engines.node.split('||').map((r) => r.trim());
    expect(ranges.map((r) => Number(/^\^(\d+)\./.exec(r)?.[1]))).toEqual([baseMajor, ...matrixMajors]);
    expect(process.versions.node.split('.')[0]).toMatch(new RegExp(`^(${[baseMajor, ...matrixMajors].join('|')})$`));
  });

  it('has the openai releases the SDK tests choose between', () => {
    expect(pkg.devDependencies.openai).toMatch(new RegExp(`^\\^${OPENAI_SDK_PACKAGES.openai}\\.`));
    expect(pkg.devDependencies.openai7).toMatch(new RegExp(`^npm:openai@\\^${OPENAI_SDK_PACKAGES.openai7}\\.`));
    expect(matrix).toContain('OPENAI_SDK_PACKAGE=openai7');
  });

  it('has shell scripts that bash can parse', () => {
    const scripts = ['.ci/run', ...readdirSync(join(ROOT, 'scripts')).filter((f) => f.endsWith('.sh')).map((f) => `scripts/${f}`)];
    for (const script of scripts) {
      const result = spawnSync('bash', ['-n', join(ROOT, script)], { encoding: 'utf8' });
      expect(result.status, `${script}: ${result.stderr}`).toBe(0);
    }
  });
});
