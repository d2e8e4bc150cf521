// Any run of 16 or more characters of an account's key, organization or project, in any encoding an upstream
// may quote it in, is masked: in a whole body, in a stream cut at every byte boundary (with the result the
// whole body gets), and in a header value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretScrubber } from '../../src/proxy/scrub.js';
import { throughStream } from '../helpers/scrub-stream.js';

const KEY = 'sk-proj-Zq9xW/8vTz0K1mNp4QrS7uVb2YcD5eFg';
const ORGANIZATION = 'org-Zx81JqWmP0aLr5Tn9KcV2bYd';
const PROJECT = 'proj_Q7hN3sVx0PzK8mWc1LtY4bRf';
const HEADER_VALUE = 'azure-5f0c1d2e3b4a';
const SECRETS = [KEY, ORGANIZATION, PROJECT, HEADER_VALUE];

const hex = (text: string): string => Buffer.from(text).toString('hex');
const codes = (text: string): number[] => [...Buffer.from(text)];
const percent = (code: number): string => `%${code.toString(16).toUpperCase().padStart(2, '0')}`;

/** How an upstream may quote a run of a secret, each as the bytes of the text around it hold it. */
const ENCODINGS: Record<string, (run: string) => string> = {
  raw: (run) => run,
  'upper-cased': (run) => run.toUpperCase(),
  'lower-cased': (run) => run.toLowerCase(),
  'case swapped': (run) => [...run].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''),
  hex: hex,
  'hex, upper case': (run) => hex(run).toUpperCase(),
  'HTML decimal entities': (run) => codes(run).map((c) => `&#${c};`).join(''),
  'HTML hex entities': (run) => codes(run).map((c, i) => (i % 2 === 0 ? `&#x${c.toString(16)};` : `&#X00${c.toString(16).toUpperCase()};`)).join(''),
  'URL-encoded': encodeURIComponent,
  'URL-encoded, every character': (run) => codes(run).map(percent).join(''),
  'URL-encoded twice': (run) => encodeURIComponent(encodeURIComponent(run)),
  'URL-encoded twice, every character': (run) => codes(run).map((c) => `%25${percent(c).slice(1).toLowerCase()}`).join(''),
  'JSON-escaped, every character': (run) => codes(run).map((c) => `\\u${c.toString(16).padStart(4, '0')}`).join(''),
  'JSON-escaped slashes': (run) => run.replaceAll('/', '\\/'),
};

/** Text around a quoted run: JSON, SSE and escapes (whole ones: a lone backslash would change what follows). */
const FILLER = ['data: {"choices":[{"delta":{"content":"', '"}}]}\n\n', ' ', '%', '%2', '%25', '%252', '&#', '&#x', ';', '\\n', '\\\\', '0', 'a', 'Z', 'sk-', '==', 'é', '&amp;'];
const filler = fc.array(fc.oneof(fc.constantFrom(...FILLER), fc.string({ maxLength: 4, unit: fc.constantFrom(...'abcXYZ019-_/+=; %&#"') })), { maxLength: 5 }).map((p) => p.join(''));

/** A run of 16 characters or more of one of the secrets, at any place in it (`key[3:-3]` among them). */
const runs = fc
  .constantFrom(...SECRETS)
  .chain((secret) => fc.tuple(fc.constant(secret), fc.integer({ min: 0, max: secret.length - 16 })))
  .chain(([secret, start]) => fc.integer({ min: start + 16, max: secret.length }).map((end) => secret.slice(start, end)));

interface Quoted {
  text: string;
  /** Where the run's characters stand in `text`: each of them must come out as `*`. */
  from: number;
  to: number;
}

/** `before` + the run encoded + `after`, and where the encoded run stands. */
function quote(before: string, encoded: string, after: string): Quoted {
  return { text: before + encoded + after, from: before.length, to: before.length + encoded.length };
}

/** A run inside base64 text: `lead` bytes of something else before it, so it sits at any alignment. */
function quoteInBase64(before: string, lead: string, run: string, url: boolean, after: string): Quoted {
  let encoded = Buffer.from(lead + run).toString('base64');
  if (url) encoded = encoded.replaceAll('+', '-').replaceAll('/', '_');
  // The characters that depend on the run's bytes alone.
  const from = Math.ceil((lead.length * 4) / 3);
  const to = Math.floor(((lead.length + run.length) * 4) / 3);
  return { text: before + encoded + after, from: before.length + from, to: before.length + to };
}

const quoted = fc.oneof(
  fc.tuple(filler, fc.constantFrom(...Object.keys(ENCODINGS)), runs, filler).map(([before, how, run, after]) => quote(before, ENCODINGS[how]!(run), after)),
  fc
    .tuple(filler, fc.string({ maxLength: 5, unit: fc.constantFrom(...'Bearer :xyz') }), runs, fc.boolean(), filler)
    .map(([before, lead, run, url, after]) => quoteInBase64(before, lead, run, url, after)),
);

const unmasked = ({ text, from, to }: Quoted, out: string): string => [...out.slice(from, to)].filter((c) => c !== '*').join('') + ` in ${JSON.stringify(text)}`;

describe('runs of secrets in every encoding', () => {
  const scrubber = new SecretScrubber(SECRETS);

  it('masks every character of the run in a whole body, keeping its length', () => {
    fc.assert(
      fc.property(quoted, (q) => {
        const out = scrubber.maskComplete(Buffer.from(q.text, 'latin1'));
        expect(out.length).toBe(q.text.length);
        expect(unmasked(q, out.toString('latin1'))).toBe(` in ${JSON.stringify(q.text)}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('masks a stream cut at every byte boundary, or fed one byte at a time, as it masks the whole', async () => {
    await fc.assert(
      fc.asyncProperty(quoted, async (q) => {
        const bytes = Buffer.from(q.text, 'latin1');
        const whole = scrubber.maskComplete(bytes);
        for (let cut = 0; cut <= bytes.length; cut++) {
          expect((await throughStream(scrubber, [bytes.subarray(0, cut), bytes.subarray(cut)])).toString('latin1'), `cut at ${cut}`).toBe(whole.toString('latin1'));
        }
        const bytewise = await throughStream(scrubber, [...bytes].map((byte) => Buffer.of(byte)));
        expect(bytewise.toString('latin1')).toBe(whole.toString('latin1'));
      }),
      { numRuns: 150 },
    );
  });

  it('masks a stream cut anywhere into many pieces as it masks the whole', async () => {
    const texts = fc.array(quoted, { minLength: 1, maxLength: 4 }).map((parts) => Buffer.from(parts.map((p) => p.text).join(''), 'latin1'));
    await fc.assert(
      fc.asyncProperty(texts, fc.array(fc.nat(), { maxLength: 12 }), async (bytes, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));
        expect((await throughStream(scrubber, pieces)).toString('latin1')).toBe(scrubber.maskComplete(bytes).toString('latin1'));
      }),
      { numRuns: 500 },
    );
  });

  it('masks a run in a header value', () => {
    fc.assert(
      fc.property(quoted, (q) => {
        expect(unmasked(q, scrubber.maskText(q.text))).toBe(` in ${JSON.stringify(q.text)}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('masks a URL-encoded run whose first characters an escape left open before it takes (`%2` then `9xW%252F…`)', () => {
    // What the text before may leave open, and runs that start with hex digits, encoded once or twice.
    const open = fc.constantFrom('%', '%2', '%25', '%252', 'a%', 'x%2');
    const hexLed = runs.filter((run) => /^[0-9A-Fa-f]/.test(run) && /[^A-Za-z0-9_.~-]/.test(run));
    const urlEncoded = fc.constantFrom('URL-encoded', 'URL-encoded twice').chain((how) =>
      fc.boolean().map((lower) => (run: string) => {
        const encoded = ENCODINGS[how]!(run);
        return lower ? encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()) : encoded;
      }),
    );
    fc.assert(
      fc.property(open, hexLed, urlEncoded, filler, (before, run, encode, after) => {
        const q = quote(before, encode(run), after);
        expect(unmasked(q, scrubber.maskComplete(Buffer.from(q.text, 'latin1')).toString('latin1'))).toBe(` in ${JSON.stringify(q.text)}`);
        expect(unmasked(q, scrubber.maskText(q.text))).toBe(` in ${JSON.stringify(q.text)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('masks the found counterexample `%29xW%252F8vTz0K1mNp4Q` and its kin, in a body, a stream cut at every byte and a header', async () => {
    const run = KEY.slice(10, 26); // 9xW/8vTz0K1mNp4Q
    for (const [before, encoded] of [
      ['%2', '9xW%252F8vTz0K1mNp4Q'],
      ['%2', '9xW%252f8vTz0K1mNp4Q'],
      ['%2', '9xW%2F8vTz0K1mNp4Q'],
      ['%252', '9xW%2f8vTz0K1mNp4Q'],
      ['%25', '9xW%252F8vTz0K1mNp4Q'.replace('9', '%39')],
    ] as const) {
      expect(decodeURIComponent(decodeURIComponent(encoded))).toBe(run);
      const text = `${before}${encoded}`;
      const expected = `${before}${'*'.repeat(encoded.length)}`;
      const bytes = Buffer.from(text, 'latin1');
      expect(scrubber.maskComplete(bytes).toString('latin1')).toBe(expected);
      expect(scrubber.maskText(text)).toBe(expected);
      const body = Buffer.from(`data: {"choices":[{"delta":{"content":"${text}"}}]}\n\n`, 'latin1');
      const whole = scrubber.maskComplete(body).toString('latin1');
      expect(whole).toContain(expected);
      for (let cut = 0; cut <= body.length; cut++) {
        expect((await throughStream(scrubber, [body.subarray(0, cut), body.subarray(cut)])).toString('latin1'), `cut at ${cut}`).toBe(whole);
      }
      expect((await throughStream(scrubber, [...body].map((byte) => Buffer.of(byte)))).toString('latin1')).toBe(whole);
    }
  });

  it("masks the probe's cases: the key in hex (either case) and its inner run key[3:-3], in a body and in a header", () => {
    const stars = (text: string): string => '*'.repeat(text.length);
    const inner = KEY.slice(3, -3);
    for (const quoted of [hex(KEY), hex(KEY).toUpperCase(), inner, ORGANIZATION, hex(PROJECT)]) {
      expect(scrubber.maskComplete(Buffer.from(`{"id":"x","note":"${quoted}"}`)).toString()).toBe(`{"id":"x","note":"${stars(quoted)}"}`);
      expect(scrubber.maskText(`req_${quoted}`)).toBe(`req_${stars(quoted)}`);
    }
    expect(scrubber.maskText(`req_${KEY}`)).toBe(`req_${stars(KEY)}`);
  });

  it('holds back no more than the longest run that may still become a match, however the body comes', async () => {
    const plain = Buffer.from(`data: {"choices":[{"delta":{"content":"${'no key here, 0123456789abcdef %41 &#65; '.repeat(40)}"}}]}\n\n`);
    await throughStream(scrubber, [...plain].map((byte) => Buffer.of(byte)), (written, released) => {
      expect(written - released).toBeLessThanOrEqual(scrubber.overlapBytes);
    });
    expect(scrubber.overlapBytes).toBeLessThanOrEqual(32 * 12);
  });

  it('masks a secret shorter than 16 characters whole, or a fragment of 8 that begins or ends it, not its inner runs', () => {
    const short = new SecretScrubber(['eu-Dep10yment7']);
    expect(short.maskText('deployment eu-Dep10yment7 is busy')).toBe(`deployment ${'*'.repeat(14)} is busy`);
    expect(short.maskText('EU-DEP10YMENT7')).toBe('*'.repeat(14));
    expect(short.maskText('at eu-Dep10y.')).toBe(`at ${'*'.repeat(9)}.`);
    expect(short.maskText('at p10yment7.')).toBe(`at ${'*'.repeat(9)}.`);
    expect(short.maskText('at -Dep10ymen.')).toBe('at -Dep10ymen.');
  });

  it('leaves short runs, other text and near misses alone', () => {
    const text = `${KEY.slice(4, 19)} ${hex(KEY).slice(4, 34)} ${ORGANIZATION.slice(5, 20)} 0123456789abcdef0123456789abcdef &#65;&#66; %2541`;
    expect(scrubber.maskComplete(Buffer.from(text)).toString()).toBe(text);
  });
});
