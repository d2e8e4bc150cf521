import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY, useGatewayWithMock } from '../helpers/gateway.js';
import { expectEnvelope, rawPost } from '../helpers/raw-http.js';

/**
 * For any body a client may send, the gateway either forwards the exact bytes (and the client gets the
 * upstream's 200) or refuses the request itself with a 4xx in OpenAI's envelope, sending nothing upstream.
 * Each field draws from valid and invalid values alike; unknown fields ride along. The one documented
 * change to a body: a streamed chat that did not ask for `stream_options.include_usage` has it added.
 */

const NUM_RUNS = 200;
const absent = Symbol('absent');
type Field = unknown;

const text = fc.string({ unit: 'binary', maxLength: 40 });
const wrongType = fc.oneof(text, fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }));
/** Numbers of every kind JSON can carry: negative, fractional, huge. */
const anyNumber = fc.oneof(fc.integer({ min: -5, max: 10 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e20, 1e308, 0.5, -1));
const between = (min: number, max: number) => fc.oneof(fc.double({ min, max, noNaN: true }), fc.constantFrom(min, max));
const outside = (min: number, max: number) => fc.oneof(fc.double({ min: max, max: 1e6, noNaN: true, minExcluded: true }), fc.double({ min: -1e6, max: min, noNaN: true, maxExcluded: true }));

/** An optional field: usually absent, else a valid value, now and then an invalid one (a wrong type included). */
const optional = (valid: fc.Arbitrary<Field>, invalid?: fc.Arbitrary<Field>): fc.Arbitrary<Field> =>
  fc.oneof(
    { arbitrary: fc.constant(absent), weight: 12 },
    { arbitrary: fc.oneof(valid, fc.constant(null)), weight: 6 },
    { arbitrary: invalid === undefined ? wrongType : fc.oneof(invalid, wrongType), weight: 1 },
  );
/** A required field: nearly always valid, now and then invalid or missing. */
const required = (valid: fc.Arbitrary<Field>, invalid: fc.Arbitrary<Field>): fc.Arbitrary<Field> =>
  fc.oneof({ arbitrary: valid, weight: 20 }, { arbitrary: invalid, weight: 1 }, { arbitrary: fc.constant(absent), weight: 1 });

const KNOWN = new Set(['model', 'messages', 'prompt', 'n', 'size', 'quality', 'stream', 'stream_options', 'temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'stop', 'max_tokens', 'max_completion_tokens', 'tools', 'tool_choice', 'parallel_tool_calls', 'logprobs', 'top_logprobs', 'seed', 'user']);
/** Fields the gateway does not know, forwarded untouched; prototype-polluting keys among them are refused. */
const extraFields = fc.dictionary(
  fc.oneof(
    { arbitrary: fc.constantFrom('metadata', 'response_format', 'reasoning_effort', 'store', 'background', 'output_format'), weight: 4 },
    { arbitrary: fc.string({ maxLength: 12 }), weight: 4 },
    { arbitrary: fc.constantFrom('__proto__', 'constructor'), weight: 1 },
  ).filter((k) => !KNOWN.has(k)),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 3 },
);

const textPart = fc.record({ type: fc.constant('text'), text });
const imagePart = fc.record({
  type: fc.constant('image_url'),
  image_url: fc.record({ url: fc.constantFrom('https://example.com/a.png', 'data:image/png;base64,iVBORw0KGgo='), detail: fc.constantFrom('auto', 'low', 'high') }, { requiredKeys: ['url'] }),
});
const validMessage = fc.oneof(
  fc.record({ role: fc.constant('user'), content: fc.oneof(text, fc.array(fc.oneof(textPart, imagePart), { minLength: 1, maxLength: 3 })) }),
  fc.record({ role: fc.constantFrom('system', 'developer'), content: fc.oneof(text, fc.array(textPart, { minLength: 1, maxLength: 2 })) }),
  fc.record({ role: fc.constant('assistant'), content: fc.oneof(text, fc.constant(null)) }),
  fc.record({ role: fc.constant('tool'), content: text, tool_call_id: text }),
);
const invalidMessage = fc.oneof(
  fc.record({ role: fc.constantFrom('wizard', 'USER'), content: text }),
  fc.record({ role: fc.constant('user'), content: fc.oneof(fc.integer(), fc.constant([]), fc.constant([{ type: 'image_url', image_url: { url: 'http://insecure/a.png' } }])) }),
  fc.record({ role: fc.constant('tool'), content: text }),
  fc.constant('hello'),
);
const functionName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const validTool = fc.record({ type: fc.constant('function'), function: fc.record({ name: functionName, parameters: fc.constant({ type: 'object' }) }, { requiredKeys: ['name'] }) });
const invalidTool = fc.oneof(
  fc.record({ type: fc.constant('magic'), function: fc.record({ name: functionName }) }),
  fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('has spaces', '', 'x'.repeat(65)) }) }),
);

const chatBody = fc
  .record({
    model: required(fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'Doubao-1.5-pro-32k'), fc.oneof(fc.constantFrom('gpt-image-2', 'no-such-model', null), fc.integer())),
    messages: required(
      fc.array(validMessage, { minLength: 1, maxLength: 3 }),
      fc.oneof(fc.constant([]), text, fc.tuple(validMessage, invalidMessage).map(([a, b]) => [a, b])),
    ),
    temperature: optional(between(0, 2), outside(0, 2)),
    top_p: optional(between(0, 1), outside(0, 1)),
    presence_penalty: optional(between(-2, 2), outside(-2, 2)),
    frequency_penalty: optional(between(-2, 2), outside(-2, 2)),
    n: optional(fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, -1, 1.5, 1e20)),
    stream: optional(fc.boolean(), fc.constantFrom('true', 1)),
    stream_options: optional(fc.record({ include_usage: fc.boolean() }, { requiredKeys: [] }), fc.constant({ include_usage: 'yes' })),
    stop: optional(fc.oneof(text, fc.array(text, { maxLength: 4 })), fc.array(text, { minLength: 5, maxLength: 6 })),
    max_tokens: optional(fc.integer({ min: 1, max: 100_000 }), anyNumber.filter((n) => !(Number.isSafeInteger(n) && n > 0))),
    max_completion_tokens: optional(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom(0, -5, 2.5)),
    tools: optional(fc.array(validTool, { maxLength: 2 }), fc.array(invalidTool, { minLength: 1, maxLength: 1 })),
    tool_choice: optional(fc.oneof(fc.constantFrom('none', 'auto', 'required'), fc.constant({ type: 'function', function: { name: 'get_weather' } })), fc.constantFrom('sometimes', 1)),
    parallel_tool_calls: optional(fc.boolean()),
    seed: optional(fc.integer(), fc.constantFrom(1.5, 1e300)),
    user: optional(text),
    logprobs: optional(fc.boolean()),
    top_logprobs: optional(fc.integer({ min: 0, max: 20 }), fc.constantFrom(-1, 21, 2.5)),
  })
  .chain((known) => extraFields.map((extra) => ({ ...extra, ...present(known) })));

const validSize = fc.oneof(
  fc.constantFrom('auto', '1024x1024', '1536x1024', '1024x1536', '3840x2160', '16x16'),
  fc.tuple(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 120 })).map(([w, h]) => `${w * 16}x${h * 16}`),
);
const otherSize = fc.oneof(
  fc.constantFrom('big', '1024X1024', '', '0x0', '1024x1024x3', '-16x16'),
  fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 })).map(([w, h]) => `${w}x${h}`),
);
const imageBody = fc
  .record({
    model: required(fc.constant('gpt-image-2'), fc.oneof(fc.constantFrom('gpt-4o', 'no-such-model', null), fc.integer())),
    prompt: required(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), fc.oneof(fc.constantFrom('', 'x'.repeat(32_001)), fc.integer())),
    n: optional(fc.constant(1), fc.oneof(fc.constantFrom(0, 2, 11, 1.5), anyNumber)),
    // Sizes drawn at random may break a rule (divisible by 16, aspect ratio, pixels): the gateway decides.
    size: optional(validSize, otherSize),
    quality: optional(fc.constantFrom('high', 'medium', 'low', 'auto'), fc.constantFrom('ultra', 'HIGH')),
  })
  .chain((known) => extraFields.map((extra) => ({ ...extra, ...present(known) })));

/** The record without its absent fields. */
function present(record: Record<string, Field>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== absent) out[key] = value;
  return out;
}

/** Serialised compactly or pretty-printed: the gateway must forward whichever bytes it got. */
const serialised = (body: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> =>
  fc.tuple(body, fc.boolean()).map(([value, pretty]) => (pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)));

describe('any chat or image body', () => {
  const running = useGatewayWithMock();

  async function check(path: string, body: string, outcomes: { forwarded: number; refused: number }): Promise<void> {
    const before = running.mock.requests.length;
    const response = await rawPost(running.gateway.url + path, body, { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' });
    if (response.status >= 400 && response.status < 500) {
      expectEnvelope(response.text);
      expect(running.mock.requests.length, 'a refused request must not reach the upstream').toBe(before);
      outcomes.refused++;
      return;
    }
    expect(response.status, response.text.slice(0, 500)).toBe(200);
    expect(running.mock.requests.length).toBe(before + 1);
    const received = running.mock.requests[before]!.rawBody;
    const sent = JSON.parse(body) as { stream?: unknown; stream_options?: { include_usage?: unknown } | null };
    if (sent.stream !== true || sent.stream_options?.include_usage === true) {
      expect(Buffer.from(received).equals(Buffer.from(body)), 'the upstream must receive the exact bytes sent').toBe(true);
    } else if (sent.stream_options === undefined) {
      // The documented exception: a streamed chat gets stream_options.include_usage, spliced in after the brace.
      expect(received).toBe(body.replace('{', '{"stream_options":{"include_usage":true},'));
    } else {
      expect(JSON.parse(received)).toEqual({ ...sent, stream_options: { ...sent.stream_options, include_usage: true } });
    }
    outcomes.forwarded++;
  }

  it.each([
    ['chat', '/v1/chat/completions', serialised(chatBody)],
    ['image', '/v1/images/generations', serialised(imageBody)],
  ] as const)('%s: forwarded byte for byte, or refused with a 4xx in the envelope and nothing sent upstream', async (_kind, path, bodies) => {
    const outcomes = { forwarded: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(bodies, (body) => check(path, body, outcomes)),
      { numRuns: NUM_RUNS },
    );
    running.mock.requests.length = 0;
    // Both outcomes must be well represented, or the property says little.
    expect(outcomes.forwarded).toBeGreaterThan(NUM_RUNS / 10);
    expect(outcomes.refused).toBeGreaterThan(NUM_RUNS / 10);
  });
});
