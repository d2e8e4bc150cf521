// A micro-benchmark of the SSE tap alone (key masking included): the mock's 20-event chat stream and its
// Responses stream, recorded once per run, each arriving in one chunk, 50 streams at a time, as under the
// streamed c=50 load. With --against <git ref> the tap of that commit runs in the same process, rounds
// alternating, so a loaded machine slows both alike.
//   npm run build && node --import tsx bench/sse-tap.ts [--against HEAD~1] [--rounds 30] [--streams 2000]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { recordAnswers } from './lib/answers.js';
import { checkout } from './lib/checkout.js';
import { ROOT } from './lib/procs.js';

const { values: args } = parseArgs({
  options: {
    against: { type: 'string' },
    rounds: { type: 'string', default: '30' },
    streams: { type: 'string', default: '2000' },
  },
});
const rounds = Number(args.rounds);
const streamsPerRound = Number(args.streams);
const CONCURRENT = 50;
/** The bench gateway's upstream keys: what the scrubber masks. */
const KEYS = ['sk-bench-upstream-a-0123456789', 'sk-bench-upstream-b-0123456789', 'sk-bench-upstream-c-0123456789'];

interface Usage {
  total: number;
}
interface Tap extends NodeJS.ReadWriteStream {
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end', listener: () => void): this;
}
interface TapModule {
  SseTap: new (
    format: unknown,
    strip: boolean,
    observer: { onFirstToken(): void; onUsage(usage: Usage): void },
    /** Older taps pass the events' latin1 text too, for their scrubber to reuse. */
    release: (events: Buffer, text?: string) => Buffer,
  ) => Tap;
}
interface Variant {
  name: string;
  tap: TapModule;
  formats: { CHAT_STREAM: unknown; RESPONSES_STREAM: unknown };
  scrubber: { maskComplete(events: Buffer, text?: string): Buffer };
}

async function loadVariant(name: string, srcDir: string): Promise<Variant> {
  const load = (file: string): Promise<Record<string, unknown>> => import(pathToFileURL(join(srcDir, 'proxy', file)).href);
  const tap = (await load('sse-tap.ts')) as unknown as TapModule;
  const formats = (await load('stream-formats.ts')) as unknown as Variant['formats'];
  const { SecretScrubber } = (await load('scrub.ts')) as unknown as { SecretScrubber: new (keys: string[]) => Variant['scrubber'] };
  return { name, tap, formats, scrubber: new SecretScrubber(KEYS) };
}

/** Runs `count` streams of `body`, CONCURRENT at a time; returns the bytes the client received, for a check. */
async function runStreams(variant: Variant, format: unknown, strip: boolean, body: Buffer, count: number): Promise<number> {
  let received = 0;
  let usages = 0;
  for (let done = 0; done < count; done += CONCURRENT) {
    const ends: Promise<void>[] = [];
    for (let i = 0; i < CONCURRENT; i++) {
      const tap = new variant.tap.SseTap(format, strip, { onFirstToken: () => {}, onUsage: () => usages++ }, (events, text) =>
        variant.scrubber.maskComplete(events, text),
      );
      ends.push(
        new Promise((resolve) => {
          tap.on('data', (chunk: Buffer) => (received += chunk.length));
          tap.on('end', resolve);
        }),
      );
      tap.write(body);
      tap.end();
    }
    await Promise.all(ends);
  }
  if (usages !== Math.ceil(count / CONCURRENT) * CONCURRENT) throw new Error(`${variant.name}: ${usages} usages read`);
  return received;
}

async function main(): Promise<void> {
  const answers = JSON.parse(readFileSync(await recordAnswers(20), 'utf8')) as Record<string, { body: string }>;
  const chat = Buffer.from(answers['POST /v1/chat/completions stream']!.body, 'base64');
  const responses = Buffer.from(answers['POST /v1/responses stream']!.body, 'base64');
  const variants = [await loadVariant('this tree', join(ROOT, 'src'))];
  if (args.against !== undefined) variants.unshift(await loadVariant(args.against, checkout(args.against, 'tap')));

  const cases = [
    { name: `chat, 20 events (${chat.length} B), usage chunk stripped`, body: chat, strip: true, format: (v: Variant) => v.formats.CHAT_STREAM },
    { name: `Responses (${responses.length} B)`, body: responses, strip: false, format: (v: Variant) => v.formats.RESPONSES_STREAM },
  ];
  for (const c of cases) {
    const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const sizes = new Set<number>();
    for (const v of variants) sizes.add(await runStreams(v, c.format(v), c.strip, c.body, streamsPerRound)); // warm-up
    if (sizes.size !== 1) throw new Error(`the variants relayed different byte counts: ${[...sizes].join(', ')}`);
    for (let round = 0; round < rounds; round++) {
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        const start = performance.now();
        await runStreams(v, c.format(v), c.strip, c.body, streamsPerRound);
        samples.get(v.name)!.push(((performance.now() - start) * 1000) / streamsPerRound);
      }
    }
    console.log(`\n${c.name}: µs per stream (median, p25-p75 of ${rounds} rounds of ${streamsPerRound})`);
    for (const [name, values] of samples) {
      values.sort((a, b) => a - b);
      const at = (q: number): string => values[Math.floor(q * (values.length - 1))]!.toFixed(1);
      console.log(`  ${name.padEnd(12)} ${at(0.5).padStart(7)}  (${at(0.25)}-${at(0.75)})`);
    }
  }
}

await main();
