// `npm run bench:console`: the console's speed with 10,000 keys. Seeds the embedded store (10,000 keys, 100
// teams, 10,000 audit entries, 30 days of usage of every key), starts a gateway on it, signs in with headless
// Chromium and measures, for each page, the time from the click, Enter (or the navigation) to its table in
// place, and the compressed size of the first load; then the usage routes' answers (time and size) over HTTP.
// Goals (issue 24): every page within 300 ms, the first load under 200 KiB.
//   node --import tsx bench/console.ts [--keys 10000] [--runs 9] [--days 30]
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { ADMIN_TOKEN, ADMINS } from '../test/helpers/admin.js';
import { startBrowser } from '../test/helpers/browser.js';
import { startGateway, testConfig } from '../test/helpers/gateway.js';
import { startMockUpstream } from '../test/helpers/mock-upstream.js';
import { benchKeyName, seedConsoleStore } from './lib/console-seed.js';
import { describeMachine, machineLine, markdownTable, num, stamp, writeResults } from './lib/report.js';

const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '10000' }, runs: { type: 'string', default: '9' }, days: { type: 'string', default: '30' } } });
const KEYS = Number(args.keys);
const RUNS = Number(args.runs);
const DAYS = Number(args.days);
const TEAMS = 100;
const GOAL_MS = 300;
const GOAL_KIB = 200;

/** What a page shows once it is in place: the measurement stops when this is visible. */
const PAGES: { link: string; ready: (page: Page) => Promise<void> }[] = [
  { link: 'Overview', ready: (p) => p.getByRole('heading', { name: 'Top keys by spend this month' }).waitFor() },
  { link: 'Keys', ready: (p) => p.getByText(`Rows 1–50 of ${num(KEYS + 1)}`).waitFor() },
  { link: 'Teams', ready: (p) => p.getByText(`Rows 1–50 of ${TEAMS}`).waitFor() },
  { link: 'Usage', ready: (p) => p.getByRole('img', { name: 'Usage per day' }).waitFor() },
  { link: 'Upstreams', ready: (p) => p.getByRole('cell', { name: 'acct-a' }).waitFor() },
  { link: 'Audit', ready: (p) => p.getByText('Rows 1–50').waitFor() },
];

/** The browser's side, as far as these measurements read it (the bench is type-checked without the DOM's types). */
interface InPage {
  lastClickAt: number;
  addEventListener(type: 'click' | 'keydown', listener: (event: { timeStamp: number; key?: string }) => void, options: { capture: boolean }): void;
  performance: {
    getEntriesByName(name: string): { startTime: number }[];
    getEntriesByType(type: string): { name: string; initiatorType?: string; startTime: number; responseEnd: number; encodedBodySize: number }[];
  };
}

/** In the page: ms from the last click to the last `console:rendered` mark (app.js marks each page it draws). */
const sinceClick = (page: Page): Promise<number> =>
  page.evaluate(() => {
    const browser = globalThis as unknown as InPage;
    const rendered = browser.performance.getEntriesByName('console:rendered').at(-1)!.startTime;
    if (rendered < browser.lastClickAt) throw new Error('the click drew no page');
    return rendered - browser.lastClickAt;
  });

async function timeClick(page: Page, click: () => Promise<void>, ready: () => Promise<void>): Promise<{ inPage: number; wall: number }> {
  const started = performance.now();
  await click();
  await ready();
  return { inPage: await sinceClick(page), wall: performance.now() - started };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'console-bench-'));
const machine = describeMachine();
const seedStarted = performance.now();
const { ledgerRows } = await seedConsoleStore(dir, KEYS, TEAMS, DAYS);
const seedMs = performance.now() - seedStarted;
const mock = await startMockUpstream();
const gateway = await startGateway(testConfig(mock.url, { admins: ADMINS, database: { path: dir }, logLevel: 'warn' }));
const browser = await startBrowser();
const timings = new Map<string, { inPage: number[]; wall: number[] }>();
const record = (name: string, t: { inPage: number; wall: number }): void => {
  const entry = timings.get(name) ?? { inPage: [], wall: [] };
  entry.inPage.push(t.inPage);
  entry.wall.push(t.wall);
  timings.set(name, entry);
};
const api: string[][] = [];

/** The usage routes the Overview and Usage pages ask, and the CSV, over HTTP: the first answer's ms, the median of the next, and the answer's bytes. */
async function timeUsageRoutes(url: string): Promise<string[][]> {
  const day = (ago: number): string => new Date(Date.now() - ago * 86_400_000).toISOString().slice(0, 10);
  const month = `${day(0).slice(0, 8)}01`;
  const routes: [string, string][] = [
    ['Overview: summary of the month, top 10', `/admin/usage/summary?from=${month}&to=${day(0)}&top=10`],
    // top=7, which the page never asks: its first answer ranks every key (the ranking is then kept a minute).
    ['Usage by key: series of 30 days, top 7', `/admin/usage/series?from=${day(29)}&to=${day(0)}&groupBy=key&top=7`],
    ['Usage by team: series of 30 days, top 8', `/admin/usage/series?from=${day(29)}&to=${day(0)}&groupBy=team&top=8`],
    ['Usage by model: series of 30 days, top 8', `/admin/usage/series?from=${day(29)}&to=${day(0)}&groupBy=model&top=8`],
    ['Keys: last use of a page of 50 keys', `/admin/usage/last-used?keys=${Array.from({ length: 50 }, (_, i) => benchKeyName(i + 1)).join(',')}`],
    ['Before: last use from 31 days of their rows', `/admin/usage/daily?from=${day(30)}&to=${day(0)}&groupBy=key&keys=${Array.from({ length: 50 }, (_, i) => benchKeyName(i + 1)).join(',')}`],
    ['Before: the month whole, by key and model (JSON)', `/admin/usage/daily?from=${month}&to=${day(0)}&groupBy=key,model`],
    ['CSV of 30 days, by key and model (streamed)', `/admin/usage/daily?from=${day(29)}&to=${day(0)}&groupBy=key,model&format=csv`],
  ];
  const rows: string[][] = [];
  for (const [name, path] of routes) {
    const whole = path.includes('format=csv') || path.includes('groupBy=key,model');
    const times: number[] = [];
    let bytes = 0;
    let lines = 0;
    for (let run = 0; run < (whole ? 3 : RUNS); run++) {
      const started = performance.now();
      const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const text = await response.text();
      times.push(performance.now() - started);
      if (!response.ok) throw new Error(`${path}: ${response.status} ${text.slice(0, 200)}`);
      bytes = Buffer.byteLength(text);
      lines = path.includes('format=csv') ? text.split('\r\n').length - 2 : ((JSON.parse(text) as { data?: unknown[] }).data?.length ?? Number.NaN);
    }
    rows.push([name, num(times[0]), num(median(times.slice(1))), num(bytes / 1024, 1), num(lines)]);
  }
  return rows;
}

const firstLoad: { bytes: number; files: number; inPage: number; steps: { name: string; start: number; end: number }[] }[] = [];
try {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    const browser = globalThis as unknown as InPage;
    browser.addEventListener('click', (event) => (browser.lastClickAt = event.timeStamp), { capture: true });
    // Enter in the search box asks at once: the measurement starts there, as at a click.
    browser.addEventListener('keydown', (event) => event.key === 'Enter' && (browser.lastClickAt = event.timeStamp), { capture: true });
  });
  await page.goto(`${gateway.url}/admin/`);
  // The first sign-in is the gateway's first Overview: its worst run is a cold start (and the ranking of every key).
  for (let run = 0; run < RUNS; run++) {
    if (run > 0) {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    }
    await page.getByLabel('Token').fill(ADMIN_TOKEN);
    record('Sign in → Overview', await timeClick(page, () => page.getByRole('button', { name: 'Sign in' }).click(), PAGES[0]!.ready.bind(null, page)));
  }

  // Away from the Overview sign-in led to, so that every click below draws a page.
  await page.getByRole('link', { name: 'Audit' }).click();
  await PAGES[5]!.ready(page);
  for (let run = 0; run < RUNS; run++) {
    for (const { link, ready } of PAGES) record(link, await timeClick(page, () => page.getByRole('link', { name: link }).click(), () => ready(page)));
    await page.getByRole('link', { name: 'Keys' }).click();
    await PAGES[1]!.ready(page);
    record('Keys → Next', await timeClick(page, () => page.getByRole('button', { name: 'Next' }).click(), () => page.getByText('Rows 51–100').waitFor()));
    record('Keys → Previous', await timeClick(page, () => page.getByRole('button', { name: 'Previous' }).click(), () => page.getByText('Rows 1–50 of').waitFor()));
    // One key among all, by name: typed, then Enter (from Enter to its row, alone in the table).
    const wanted = benchKeyName(1 + ((run * 997) % KEYS));
    await page.getByRole('searchbox', { name: 'Search' }).fill(wanted);
    record('Keys → Search (Enter)', await timeClick(page, () => page.getByRole('searchbox', { name: 'Search' }).press('Enter'), () => page.getByText('Rows 1–1 of 1').waitFor()));
  }

  // A first load, signed in, straight onto the Keys page, in a browser context of its own (an empty cache):
  // from the navigation's start to the table, and the bytes it took.
  const cookies = await context.cookies();
  for (let run = 0; run < RUNS; run++) {
    const cold = await browser.browser.newContext();
    await cold.addCookies(cookies);
    const fresh = await cold.newPage();
    const started = performance.now();
    await fresh.goto(`${gateway.url}/admin/#/keys`);
    await PAGES[1]!.ready(fresh);
    const wall = performance.now() - started;
    const loaded = await fresh.evaluate(() => {
      const { performance } = globalThis as unknown as InPage;
      const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
      const assets = entries.filter((e) => e.initiatorType !== 'fetch');
      return {
        bytes: assets.reduce((t, e) => t + e.encodedBodySize, 0),
        files: assets.length,
        inPage: performance.getEntriesByName('console:rendered').at(-1)!.startTime,
        steps: entries.map((e) => ({ name: e.name.replace(/^https?:\/\/[^/]+/, ''), start: e.startTime, end: e.responseEnd })),
      };
    });
    record('First load of Keys', { inPage: loaded.inPage, wall });
    firstLoad.push(loaded);
    await cold.close();
  }
  await context.close();
  api.push(...(await timeUsageRoutes(gateway.url)));
} finally {
  await browser.close();
  await gateway.close();
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
}

// A page meets the goal when its median does; the worst run is shown beside it (on a shared machine it
// measures the neighbours' load as much as the console).
const rows = [...timings].map(([name, t]) => [name, num(median(t.inPage)), num(Math.max(...t.inPage)), num(median(t.wall)), median(t.inPage) <= GOAL_MS ? 'yes' : 'NO']);
const allMet = rows.every((r) => r[4] === 'yes');
const kib = Math.max(...firstLoad.map((f) => f.bytes)) / 1024;
const medianLoad = [...firstLoad].sort((a, b) => a.inPage - b.inPage)[Math.floor(firstLoad.length / 2)]!;
const steps = markdownTable(
  ['request', 'start ms', 'end ms'],
  [...medianLoad.steps.map((s) => [s.name.length > 60 ? `${s.name.slice(0, 60)}…` : s.name, num(s.start), num(s.end)]), ['(Keys table in place)', '', num(medianLoad.inPage)]],
);
const markdown = `# Console with ${num(KEYS)} keys

${machineLine(machine)}. Embedded store (PGlite) seeded with ${num(KEYS)} keys, ${TEAMS} teams, ${num(KEYS)} audit
entries and ${num(ledgerRows)} ledger rows (every key, ${DAYS} days) in ${num(seedMs / 1000, 1)} s; gateway and headless Chromium on the same machine; ${RUNS} runs per page.

"In the page" is from the click event (or the navigation's start, for a first load) to app.js's
\`console:rendered\` mark of the page with its table; "wall" adds Playwright's round trips to the browser.

${markdownTable(['page', 'in the page, median ms', 'worst ms', 'wall, median ms', `median within ${GOAL_MS} ms`], rows)}

First load (the page, its scripts, styles and the chart library, as the browser received them, compressed):
**${num(kib, 1)} KiB** in ${firstLoad[0]!.files} files (goal: under ${GOAL_KIB} KiB: ${kib < GOAL_KIB ? 'met' : 'NOT met'}).

Every page within ${GOAL_MS} ms (median): **${allMet ? 'met' : 'NOT met'}**.

The usage routes over HTTP from Node (no browser), with the ledger of every key over ${DAYS} days (${num(ledgerRows)} rows):

${markdownTable(['answer', 'first ms', 'then, median ms', 'KiB', 'rows (data)'], api)} Load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}.

Where the time of the median first load goes (from the navigation's start):

${steps}
`;
const files = writeResults('console-latest', markdown, { machine, keys: KEYS, runs: RUNS, days: DAYS, ledgerRows, timings: Object.fromEntries(timings), firstLoad, api }, `console-${stamp()}`);
process.stdout.write(`${markdown}\nwrote ${files.join(', ')}\n`);
