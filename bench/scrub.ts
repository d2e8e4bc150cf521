// A micro-benchmark of the key scrubber alone, on bodies that hold no secret (the common case): a short chat
// completion, a batch of SSE events, 64 KiB of text with JSON \u escapes (the decoded path), 64 KiB of hex
// digests (the worst case), a 450 KiB JSON answer streamed in 64 KiB chunks and upstream response headers.
// With --against <git ref> the scrubber of that commit runs in the same process, rounds alternating, so a
// loaded machine slows both alike.
//   node --import tsx bench/scrub.ts [--against main] [--rounds 15]
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Transform } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkout } from './lib/checkout.js';
import { ROOT } from './lib/procs.js';

const { values: args } = parseArgs({ options: { against: { type: 'string' }, rounds: { type: 'string', default: '15' } } });
const rounds = Number(args.rounds);
/**
 * Secrets shaped as a provider issues them (random past their prefix), for three accounts: what the scrubber
 * masks. (Keys made of words would make English text look like runs of them.)
 */
const SECRETS = [
  'sk-proj-Zq9xW8vTz0K1mNp4QrS7uVb2YcD5eFgH3jL6kM9nP2qR5sT8uW1xY4zA7bC0dE3fG6hJ9kL2mN5pQ8rS1tU4vW7xY0zA3bC6dE9fG2hJ5kL8mN1pQ4rS7tU0vW3xY6zA9bC2dE5fG8hJ1kL4mN7pQ0rS3tU6vW9xY2zA5bC8dE1fG4hJ7',
  'sk-proj-Hn2bV5cX8zL1kJ4hG7fD0sA3pO6iU9yT2rE5wQ8mN1bV4cX7zL0kJ3hG6fD9sA2pO5iU8yT1rE4wQ7mN0bV3cX6zL9kJ2hG5fD8sA1pO4iU7yT0rE3wQ6mN9bV2cX5zL8kJ1hG4fD7sA0pO3iU6yT9rE2wQ5mN8bV1cX4zL7kJ0hG3fD6sA9',
  'sk-proj-Qw3eR6tY9uI2oP5aS8dF1gH4jK7lZ0xC3vB6nM9qW2eR5tY8uI1oP4aS7dF0gH3jK6lZ9xC2vB5nM8qW1eR4tY7uI0oP3aS6dF9gH2jK5lZ8xC1vB4nM7qW0eR3tY6uI9oP2aS5dF8gH1jK4lZ7xC0vB3nM6qW9eR2tY5uI8oP1aS4dF7gH0',
  'org-Zx81JqWmP0aLr5Tn9KcV2bYd',
  'proj_Q7hN3sVx0PzK8mWc1LtY4bRf',
];
interface Scrubber {
  maskComplete(bytes: Buffer): Buffer;
  stream(): Transform;
  maskText?(text: string): string;
}
interface Variant {
  name: string;
  scrubber: Scrubber;
}

async function loadVariant(name: string, srcDir: string): Promise<Variant> {
  const module = (await import(pathToFileURL(join(srcDir, 'proxy', 'scrub.ts')).href)) as { SecretScrubber: new (secrets: string[]) => Scrubber };
  return { name, scrubber: new module.SecretScrubber(SECRETS) };
}

const chat = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
    object: 'chat.completion',
    created: 1741569952,
    model: 'gpt-4o-2024-08-06',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I assist you today? '.repeat(8), refusal: null }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0 } },
    system_fingerprint: 'fp_44709d6fcb',
  }),
);
const event = (text: string): string =>
  `data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`;
const events = Buffer.from(Array.from({ length: 20 }, (_, i) => event(` token${i}`)).join(''));
const bigJson = Buffer.from(JSON.stringify({ data: Array.from({ length: 4000 }, (_, i) => ({ object: 'embedding', index: i, embedding: [0.0123, -0.0456, 0.0789, 0.1011, -0.1213, 0.1415, -0.1617, 0.1819, 0.0021] })) }).slice(0, 1 << 20));
const escaped = Buffer.from(JSON.stringify({ text: 'caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u2014 '.repeat(2400) }).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).slice(0, 64 * 1024));
/** The worst case for the search: hex text (a hex digit gram is in many secrets' hex forms). */
const hexDump = Buffer.from(JSON.stringify({ sha: Array.from({ length: 1200 }, (_, i) => createHash('sha256').update(String(i)).digest('hex')) }).slice(0, 64 * 1024));
const headers = ['req_8c1f2a7b0e9d4c3a', '2024-02-01', '843', 'application/json', '10000', '9999', '6ms', '30000000', '29999985', '0s'];

async function streamed(scrubber: Scrubber, body: Buffer): Promise<number> {
  const stream = scrubber.stream();
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const ended = new Promise((resolve) => stream.once('end', resolve));
  for (let at = 0; at < body.length; at += 64 * 1024) stream.write(body.subarray(at, at + 64 * 1024));
  stream.end();
  await ended;
  return bytes;
}

interface Case {
  name: string;
  /** Bytes (or header values) per operation, for the per-KiB figure. */
  bytes: number;
  iterations: number;
  run(scrubber: Scrubber): number | Promise<number>;
}

const cases: Case[] = [
  { name: `chat completion (${chat.length} B), whole`, bytes: chat.length, iterations: 20_000, run: (s) => s.maskComplete(chat).length },
  { name: `20 SSE events (${events.length} B), whole`, bytes: events.length, iterations: 5_000, run: (s) => s.maskComplete(events).length },
  { name: `JSON with \\u escapes (${escaped.length} B), whole`, bytes: escaped.length, iterations: 100, run: (s) => s.maskComplete(escaped).length },
  { name: `JSON of hex digests (${hexDump.length} B), whole`, bytes: hexDump.length, iterations: 100, run: (s) => s.maskComplete(hexDump).length },
  { name: `JSON (${bigJson.length} B), streamed in 64 KiB chunks`, bytes: bigJson.length, iterations: 20, run: (s) => streamed(s, bigJson) },
  {
    name: `${headers.length} upstream header values`,
    bytes: headers.join('').length,
    iterations: 20_000,
    run: (s) => headers.reduce((n, value) => n + (s.maskText === undefined ? value.length : s.maskText(value).length), 0),
  },
];

async function main(): Promise<void> {
  const variants = [await loadVariant('this tree', join(ROOT, 'src'))];
  if (args.against !== undefined) variants.unshift(await loadVariant(args.against, checkout(args.against, 'scrub')));
  for (const c of cases) {
    const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    for (let round = -1; round < rounds; round++) {
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        const start = performance.now();
        for (let i = 0; i < c.iterations; i++) await c.run(v.scrubber);
        const perOp = ((performance.now() - start) * 1000) / c.iterations;
        if (round >= 0) samples.get(v.name)!.push(perOp); // round -1 warms up
      }
    }
    console.log(`\n${c.name}: µs per operation, µs per KiB (median, p25-p75 of ${rounds} rounds)`);
    for (const [name, values] of samples) {
      values.sort((a, b) => a - b);
      const at = (q: number): number => values[Math.floor(q * (values.length - 1))]!;
      const perKiB = (at(0.5) * 1024) / c.bytes;
      console.log(`  ${name.padEnd(12)} ${at(0.5).toFixed(2).padStart(9)}  (${at(0.25).toFixed(2)}-${at(0.75).toFixed(2)})  ${perKiB.toFixed(2).padStart(7)} /KiB`);
    }
  }
}

await main();
