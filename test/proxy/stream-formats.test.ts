// Each endpoint's stream format, through the one SSE tap: where the first token, the finish and the end of
// its stream are, and what error event ends a stream the gateway had to cut.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imagesGenerations } from '../../src/endpoints/images-generations.js';
import { SseTap } from '../../src/proxy/sse-tap.js';
import { CHAT_STREAM, hasDone, MESSAGES_STREAM, RESPONSES_STREAM, usageObjects, type StreamFormat } from '../../src/proxy/stream-formats.js';
import { normaliseUsage, type Usage } from '../../src/proxy/usage.js';

interface Run {
  output: string;
  usages: Usage[];
  firstTokens: number;
  complete: boolean;
}

/** Writes `events` through a tap of `format`, ends it (or fails it), and reads what the client would get. */
async function relay(format: StreamFormat, events: string[], fail?: string): Promise<Run> {
  const usages: Usage[] = [];
  let firstTokens = 0;
  const tap = new SseTap(format, false, { onFirstToken: () => firstTokens++, onUsage: (u) => usages.push(u) });
  const chunks: Buffer[] = [];
  tap.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => tap.once('end', resolve));
  for (const event of events) {
    tap.write(Buffer.from(event));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (fail === undefined) tap.end();
  else tap.fail(fail, 'upstream_stream_failed');
  await ended;
  return { output: Buffer.concat(chunks).toString(), usages, firstTokens, complete: tap.watcher.complete };
}

const typed = (type: string, sequence: number, rest = ''): string =>
  `event: ${type}\ndata: {"type":"${type}","sequence_number":${sequence}${rest}}\n\n`;

const RESPONSE_EVENTS = [
  typed('response.created', 0, ',"response":{"id":"resp_1","usage":null}'),
  typed('response.output_item.added', 1, ',"item":{"type":"message","content":[]}'),
  typed('response.output_text.delta', 2, ',"delta":"Hi"'),
  typed('response.output_text.done', 3, ',"text":"Hi"'),
  typed('response.completed', 4, ',"response":{"id":"resp_1","usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":2},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":14}}'),
];

describe('stream formats', () => {
  it('the Responses API: ends with response.completed (no [DONE]), times its first delta, reads the usage in it', async () => {
    const run = await relay(RESPONSES_STREAM, RESPONSE_EVENTS);
    expect(run.output).toBe(RESPONSE_EVENTS.join(''));
    expect(run.complete).toBe(true);
    expect(run.firstTokens).toBe(1);
    expect(run.usages).toEqual([{ prompt: 5, completion: 9, cached: 2, reasoning: 4, total: 14 }]);
  });

  it('the Responses API: a stream that stops before response.completed ends with its own error event, numbered next', async () => {
    const run = await relay(RESPONSES_STREAM, RESPONSE_EVENTS.slice(0, 3));
    const last = run.output.slice(RESPONSE_EVENTS.slice(0, 3).join('').length);
    expect(last.startsWith('event: error\ndata: ')).toBe(true);
    const error = JSON.parse(last.slice('event: error\ndata: '.length)) as Record<string, unknown>;
    expect(error).toMatchObject({
      type: 'error',
      code: 'upstream_stream_incomplete',
      param: null,
      sequence_number: 3,
      error: { type: 'server_error', code: 'upstream_stream_incomplete' },
    });
    expect(typeof error.message).toBe('string');
  });

  it('the Responses API: a failed upstream ends with the error event too', async () => {
    const run = await relay(RESPONSES_STREAM, RESPONSE_EVENTS.slice(0, 2), 'The upstream stream failed.');
    expect(run.output).toContain('"type":"error","code":"upstream_stream_failed"');
    expect(run.output).toContain('"sequence_number":2');
  });

  it('streamed images: partial images, then image_generation.completed with the usage, and no error event', async () => {
    const events = [
      typed('image_generation.partial_image', 0, ',"b64_json":"AAAA","partial_image_index":0'),
      typed('image_generation.completed', 1, ',"b64_json":"BBBB","usage":{"input_tokens":50,"output_tokens":272,"total_tokens":322}'),
    ];
    const run = await relay(imagesGenerations.stream!, events);
    expect(run.output).toBe(events.join(''));
    expect(run.output).not.toContain('event: error');
    expect(run.firstTokens).toBe(1);
    expect(run.usages).toEqual([{ prompt: 50, completion: 272, cached: 0, reasoning: 0, total: 322 }]);
  });

  it("chat: a stream without [DONE] is incomplete, and its error event is chat's envelope", async () => {
    const chunk = 'data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}\n\n';
    const run = await relay(CHAT_STREAM, [chunk]);
    expect(run.complete).toBe(false);
    expect(run.output).toBe(
      `${chunk}event: error\ndata: {"error":{"message":"The upstream ended the stream before it was complete.","type":"server_error","param":null,"code":"upstream_stream_incomplete"}}\n\n`,
    );
  });
});

/** What the searches by hand stand for: a GAP is whitespace or a continuation line's `data:`. */
const GAP = String.raw`(?:[ \t\r\n]|(?<=[\r\n])data:)*`;
const DONE_LINE = /(?:^|[\r\n])data: ?\[DONE\](?:\r\n|\r|\n)/;

function sequenceByPattern(text: string): number | undefined {
  const sequence = new RegExp(`"sequence_number"${GAP}:${GAP}(\\d+)`, 'g');
  let last: number | undefined;
  sequence.lastIndex = Math.max(0, text.lastIndexOf('"sequence_number"'));
  for (let match = sequence.exec(text); match !== null; match = sequence.exec(text)) last = Number(match[1]);
  return last;
}

const TOKENS = ['"sequence_number"', ':', ' ', '\t', '\n', '\r', '\r\n', 'data:', 'data: ', 'data', '12', '7', 'x', '"', '[DONE]', '[DONE', 'DONE]', '\n\n'];
const texts = fc.array(fc.constantFrom(...TOKENS), { maxLength: 20 }).map((parts) => parts.join(''));

describe('stream formats, read without patterns', () => {
  it('find `data: [DONE]` lines and the last sequence number where the patterns they stand for do', () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(hasDone(text)).toBe(DONE_LINE.test(text));
        expect(RESPONSES_STREAM.lastSequence!(text)).toBe(sequenceByPattern(text));
      }),
      { numRuns: 5000 },
    );
    for (const text of ['data: [DONE]\n', 'data:[DONE]\r', 'x\r\ndata: [DONE]\r\n']) expect(hasDone(text), text).toBe(true);
    for (const text of ['data: [DONE]', 'xdata: [DONE]\n', 'data:  [DONE]\n', '"[DONE]"\n']) expect(hasDone(text), text).toBe(false);
    expect(RESPONSES_STREAM.lastSequence!('"sequence_number":3,"x":{"sequence_number":\ndata: 41}')).toBe(41);
  });

  it('reads the usage object after chunks whose usage is null, and not a "usage" inside a string value', () => {
    const chunk = 'data: {"choices":[{"delta":{"content":"say \\"usage\\": {} and \\"usage\\":{\\"total_tokens\\":1}"}}],"usage":null}\n\n';
    const last = 'data: {"choices":[],"usage":\n{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}\n\n';
    const text = chunk.repeat(3) + last;
    expect(usageObjects(text)).toEqual([{ at: text.lastIndexOf('"usage"'), usage: { prompt: 3, completion: 4, cached: 0, reasoning: 0, total: 7 } }]);
    expect(usageObjects(chunk.repeat(3))).toEqual([]);
  });
});

describe('the Messages stream format', () => {
  const start = normaliseUsage({ input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 20, cache_creation: { ephemeral_1h_input_tokens: 100 }, output_tokens: 1 })!;

  it('reads input with the cache reads and writes as prompt tokens', () => {
    expect(start).toEqual({ prompt: 125, completion: 1, cached: 20, reasoning: 0, total: 126, cacheWrite: 100, cacheWrite1h: 100 });
  });

  it('merges message_delta usage, whether it carries only the output or the cumulative counts', () => {
    const merge = MESSAGES_STREAM.mergeUsage!;
    const outputOnly = normaliseUsage({ output_tokens: 40 })!;
    const cumulative = normaliseUsage({ input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 20, output_tokens: 40 })!;
    const expected = { prompt: 125, completion: 40, cached: 20, reasoning: 0, total: 165, cacheWrite: 100, cacheWrite1h: 100 };
    expect(merge(start, outputOnly)).toEqual(expected);
    expect(merge(start, cumulative)).toEqual(expected);
  });

  it('finds the first token in a delta, the finish in message_delta and the end in message_stop', () => {
    expect(MESSAGES_STREAM.hasFirstToken('event: content_block_start\ndata: {"type":"content_block_start","index":0}\n\n')).toBe(false);
    expect(MESSAGES_STREAM.hasFirstToken('data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}\n\n')).toBe(true);
    expect(MESSAGES_STREAM.hasFinish('data: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}\n\n')).toBe(true);
    expect(MESSAGES_STREAM.hasEnd('data: {"type":"message_delta"}\n\n')).toBe(false);
    expect(MESSAGES_STREAM.hasEnd('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
    expect(MESSAGES_STREAM.hasEnd('data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"\\"type\\":\\"message_stop\\""}}\n\n')).toBe(false);
  });

  it("ends a cut stream with Anthropic's error event", () => {
    const event = MESSAGES_STREAM.errorEvent('The upstream stream failed.', 'upstream_stream_failed', 0);
    expect(event).toBe('event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The upstream stream failed."}}\n\n');
  });
});
