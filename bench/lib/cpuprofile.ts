// Reading a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function and per package/file.
import { readFileSync } from 'node:fs';
import { markdownTable, num } from './report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  selfMs: number;
  /** Share of the samples that were not idle. */
  share: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers, ms. */
  durationMs: number;
  /** Sampled time spent on something other than "(idle)", ms. */
  busyMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

/** V8's pseudo-frames, which have no URL of their own. */
const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** `fastify`, `@fastify/reply-from`, `src/proxy/forward.ts`, `node:internal/streams`, `(native)`. */
function moduleOf(url: string, root: string): string {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inModules !== null) return inModules[1]!;
  if (path.startsWith('node:')) return path.split('/').slice(0, 2).join('/');
  return path.startsWith(root) ? path.slice(root.length) : path;
}

function locationOf(url: string, line: number, root: string): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const short = path.includes('node_modules/') ? path.slice(path.lastIndexOf('node_modules/') + 13) : path.replace(root, '');
  return `${short}:${line + 1}`;
}

export function summariseProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const totalHits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const msPerHit = totalHits === 0 ? 0 : durationMs / totalHits;

  const functions = new Map<string, SelfTime>();
  const modules = new Map<string, SelfTime>();
  let busyHits = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (hits === 0 || functionName === '(idle)') continue;
    busyHits += hits;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const where = SPECIAL.has(name) ? '' : locationOf(url, lineNumber, root);
    const key = `${name} ${where}`;
    const fn = functions.get(key) ?? { name, where, selfMs: 0, share: 0 };
    fn.selfMs += hits * msPerHit;
    functions.set(key, fn);
    const mod = SPECIAL.has(name) ? name : moduleOf(url, root);
    const m = modules.get(mod) ?? { name: mod, where: '', selfMs: 0, share: 0 };
    m.selfMs += hits * msPerHit;
    modules.set(mod, m);
  }
  const busyMs = busyHits * msPerHit;
  const ranked = (map: Map<string, SelfTime>): SelfTime[] =>
    [...map.values()].map((t) => ({ ...t, share: busyMs === 0 ? 0 : t.selfMs / busyMs })).sort((a, b) => b.selfMs - a.selfMs);
  return { durationMs, busyMs, functions: ranked(functions), modules: ranked(modules) };
}

export function renderProfile(summary: ProfileSummary, top: number, requests: number): string {
  const perRequest = (ms: number): string => (requests > 0 ? num((ms * 1000) / requests, 1) : '–');
  const pct = (share: number): string => `${(share * 100).toFixed(1)}%`;
  return [
    `Main thread busy ${num(summary.busyMs)} ms of ${num(summary.durationMs)} ms profiled; ${num(requests)} requests under load.`,
    '',
    `Top ${top} functions by self time:`,
    '',
    markdownTable(
      ['function', 'self ms', 'share', 'µs/req', 'location'],
      summary.functions.slice(0, top).map((f) => [f.name, num(f.selfMs), pct(f.share), perRequest(f.selfMs), f.where]),
      [0, 4],
    ),
    '',
    'Self time by package or file:',
    '',
    markdownTable(
      ['package / file', 'self ms', 'share', 'µs/req'],
      summary.modules.slice(0, 20).map((m) => [m.name, num(m.selfMs), pct(m.share), perRequest(m.selfMs)]),
    ),
  ].join('\n');
}
