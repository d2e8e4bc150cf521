// The real Claude Code CLI (npm's @anthropic-ai/claude-code, installed outside the repository by
// scripts/ensure-claude-code.sh), run in print mode (`claude -p`) against a gateway, in a home of its own
// and with every request but the model's turned off: the machine has no other network to offer it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, type RunningGateway } from './gateway.js';

/** The version scripts/ensure-claude-code.sh pins (and installs). */
export const CLAUDE_CODE_VERSION = /^CLAUDE_CODE_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'scripts/ensure-claude-code.sh'), 'utf8'))?.[1] ?? '';

/** The binary: CLAUDE_CODE_BIN (scripts/test.sh sets it), else where scripts/ensure-claude-code.sh installs it. */
export function claudeCodeBinary(): string {
  const cache = process.env.CLAUDE_CODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ai-gateway', 'claude-code');
  const binary = process.env.CLAUDE_CODE_BIN || join(cache, CLAUDE_CODE_VERSION, 'node_modules/@anthropic-ai/claude-code/bin/claude.exe');
  if (!existsSync(binary)) {
    throw new Error(`Claude Code ${CLAUDE_CODE_VERSION} is not installed at ${binary}: run bash scripts/ensure-claude-code.sh (npm test does)`);
  }
  return binary;
}

export interface ClaudeCodeRun {
  /** The exit code, null when the run was killed (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ClaudeCodeOptions {
  /** The gateway's root URL (Claude Code adds /v1/messages). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer` (ANTHROPIC_AUTH_TOKEN). */
  authToken: string;
  /** The model of every request, the small "haiku" ones included. */
  model: string;
  /** The working directory (the files its tools may read). */
  cwd: string;
  /** More arguments, such as `--allowedTools Read`. */
  args?: string[];
  /** Killed after this long: a hung CLI fails the test with what it printed instead of hanging it. */
  timeoutMs?: number;
}

/** Runs `claude -p <prompt>` to its end and collects what it printed. */
export async function runClaudeCode(prompt: string, options: ClaudeCodeOptions): Promise<ClaudeCodeRun> {
  const binary = claudeCodeBinary();
  const home = mkdtempSync(join(tmpdir(), 'claude-code-home-'));
  try {
    const child = spawn(binary, ['-p', prompt, '--model', options.model, ...(options.args ?? [])], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Nothing of this machine's own environment but PATH: no real key or setting can leak in.
      env: {
        PATH: process.env.PATH,
        HOME: home,
        CLAUDE_CONFIG_DIR: join(home, '.claude'),
        ANTHROPIC_BASE_URL: options.baseUrl,
        ANTHROPIC_AUTH_TOKEN: options.authToken,
        ANTHROPIC_MODEL: options.model,
        ANTHROPIC_SMALL_FAST_MODEL: options.model,
        ANTHROPIC_DEFAULT_HAIKU_MODEL: options.model,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    }).finally(() => clearTimeout(timer));
    return { code, signal, stdout, stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A request as it reached the gateway, before the gateway did anything with it. */
export interface Arrival {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** Records every request that reaches the gateway's HTTP server, from now on. */
export function recordArrivals(gateway: RunningGateway): Arrival[] {
  const arrivals: Arrival[] = [];
  gateway.app.server.on('request', (req: { method?: string; url?: string; headers: IncomingHttpHeaders }) =>
    arrivals.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } }),
  );
  return arrivals;
}
