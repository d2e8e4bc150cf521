import { normaliseUsage, type Usage } from './usage.js';

// What an endpoint's stream says, read from the latin1 text of complete events (one character per byte, so
// string offsets are byte offsets). The SSE tap is the same for every endpoint; a StreamFormat answers, for
// one kind of stream, the few questions the tap asks of its events.
//
// A literal `"usage"` (or `"content"`, `"type"`, ...) can only be a key, as quotes inside JSON strings are
// escaped. JSON may break lines between tokens, and a multi-line SSE field then continues on a new `data:`
// line: GAP is the whitespace allowed between two tokens, such a line break included.
const GAP = String.raw`(?:[ \t\r\n]|(?<=[\r\n])data:)*`;

export interface StreamFormat {
  /** True when the events carry the first generated content (text, reasoning, a tool call): time to first token. */
  hasFirstToken(text: string): boolean;
  /** True when the events finish the answer: after them at most the usage and the end follow. */
  hasFinish(text: string): boolean;
  /** True when the events hold the stream's last event. */
  hasEnd(text: string): boolean;
  /** True when the event (its text) is a usage-only chunk the gateway asked for itself, to be removed. */
  isUsageOnly(event: string): boolean;
  /** The `sequence_number` of the last event in `text`, for streams whose events are numbered. */
  lastSequence?(text: string): number | undefined;
  /** The error event that ends a stream the gateway had to cut, in this stream's own shape. */
  errorEvent(message: string, code: string, sequence: number): string;
  /**
   * The request's usage once `next` is read after `previous`, for streams that report it in parts
   * (Anthropic's input in `message_start`, output in `message_delta`); by default the last one read.
   */
  mergeUsage?(previous: Usage, next: Usage): Usage;
  /**
   * Where the generated text and tool-call arguments are: a global pattern ending at the opening quote of
   * each such string value. Streams without it (audio, images) are never estimated (see usage-estimate.ts).
   */
  readonly deltaText?: RegExp;
}

/** Where a usage object starts; with `include_usage` on every chat chunk has a `"usage"` key, mostly `null`. */
const USAGE_OBJECT = new RegExp(`"usage"${GAP}:${GAP}\\{`, 'g');
/** A line break and the `data:` prefix of a continuation line, inside a multi-line field. */
const CONTINUATION = /(?:\r\n|\r|\n)data: ?/g;

/**
 * True when the events hold the `data: [DONE]` line that ends OpenAI's older streams (the space after the
 * colon is optional). Found from `[DONE]` by a plain search: a pattern that starts with a line break would
 * be tried at every character.
 */
export function hasDone(text: string): boolean {
  for (let at = text.indexOf('[DONE]'); at >= 0; at = text.indexOf('[DONE]', at + 1)) {
    if (!isLineBreak(text.charCodeAt(at + 6))) continue;
    const line = at >= 6 && text.startsWith('data: ', at - 6) ? at - 6 : at >= 5 && text.startsWith('data:', at - 5) ? at - 5 : -1;
    if (line === 0 || (line > 0 && isLineBreak(text.charCodeAt(line - 1)))) return true;
  }
  return false;
}

/**
 * Chat completions and legacy completions: `choices` deltas, a finish chunk, then (when asked for) the
 * usage-only chunk, then `data: [DONE]`.
 */
export const CHAT_STREAM: StreamFormat = (() => {
  const firstToken = new RegExp(`"(?:content|reasoning_content|text)"${GAP}:${GAP}"[^"]|"tool_calls"${GAP}:${GAP}\\[${GAP}[^\\]\\s]`);
  const finish = new RegExp(`"finish_reason"${GAP}:${GAP}"`);
  const noChoices = new RegExp(`"choices"${GAP}:${GAP}\\[${GAP}\\]`);
  return {
    hasFirstToken: (text) => firstToken.test(text),
    hasFinish: (text) => finish.test(text),
    hasEnd: hasDone,
    isUsageOnly: (event) => noChoices.test(event),
    errorEvent: (message, code) => `event: error\ndata: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code } })}\n\n`,
    // Text, reasoning and refusal deltas, legacy completions' `text`, and tool calls' names and arguments.
    deltaText: new RegExp(`"(?:content|reasoning_content|reasoning|refusal|text|name|arguments)"${GAP}:${GAP}"`, 'g'),
  };
})();

/**
 * Streams of typed events (`{"type":"response.output_text.delta",...}`): the Responses API, streamed
 * transcriptions, speech and images. Content arrives in `*.delta` events (`firstTokenTypes`), the last
 * event is one of `endTypes` and carries the usage itself, and events are numbered.
 */
export function typedEventStream(endTypes: readonly string[], firstTokenTypes = String.raw`[a-z_.]*\.delta`): StreamFormat {
  const typeIs = (pattern: string): RegExp => new RegExp(`"type"${GAP}:${GAP}"(?:${pattern})"`);
  const firstToken = typeIs(firstTokenTypes);
  const end = typeIs(endTypes.map((t) => t.replaceAll('.', String.raw`\.`)).join('|'));
  const hasEnd = (text: string): boolean => end.test(text) || hasDone(text);
  return {
    hasFirstToken: (text) => firstToken.test(text),
    hasFinish: hasEnd,
    hasEnd,
    isUsageOnly: () => false,
    lastSequence(text) {
      const at = text.lastIndexOf('"sequence_number"');
      const value = at < 0 ? -1 : valueAt(text, at, '"sequence_number"');
      if (value < 0) return undefined;
      let end = value;
      while (end < text.length && text.charCodeAt(end) >= 0x30 && text.charCodeAt(end) <= 0x39) end++;
      return end > value ? Number(text.slice(value, end)) : undefined;
    },
    // Both shapes at once: the Responses API's `type: "error"` event, and an `error` object, which is what
    // the official SDK's plain `for await` over a stream looks for before it raises APIError.
    errorEvent: (message, code, sequence_number) =>
      `event: error\ndata: ${JSON.stringify({ type: 'error', code, message, param: null, sequence_number, error: { type: 'server_error', code, message, param: null } })}\n\n`,
  };
}

/**
 * The Responses API: `response.completed`, `response.incomplete` or `response.failed` ends it, with the
 * usage. Generated text, reasoning summaries and function-call arguments arrive as the `delta` of `*.delta` events.
 */
export const RESPONSES_STREAM: StreamFormat = {
  ...typedEventStream(['response.completed', 'response.incomplete', 'response.failed'], String.raw`response\.[a-z_.]*delta`),
  deltaText: new RegExp(`"delta"${GAP}:${GAP}"`, 'g'),
};

/**
 * Anthropic's Messages API: `message_start` (with the input usage), content blocks and their deltas,
 * `message_delta` (the stop reason and the output usage, counts that only grow), then `message_stop`.
 */
export const MESSAGES_STREAM: StreamFormat = (() => {
  const typeIs = (pattern: string): RegExp => new RegExp(`"type"${GAP}:${GAP}"(?:${pattern})"`);
  const firstToken = typeIs('text_delta|thinking_delta|input_json_delta');
  const finish = typeIs('message_delta');
  const end = typeIs('message_stop');
  return {
    hasFirstToken: (text) => firstToken.test(text),
    hasFinish: (text) => finish.test(text),
    hasEnd: (text) => end.test(text),
    isUsageOnly: () => false,
    deltaText: new RegExp(`"(?:text|thinking|partial_json)"${GAP}:${GAP}"`, 'g'),
    // Anthropic's error event, which its SDKs raise as an APIError of that type.
    errorEvent: (message) => `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message } })}\n\n`,
    mergeUsage: (previous, next) => {
      const merged: Usage = {
        prompt: Math.max(previous.prompt, next.prompt),
        completion: Math.max(previous.completion, next.completion),
        cached: Math.max(previous.cached, next.cached),
        reasoning: Math.max(previous.reasoning, next.reasoning),
        total: 0,
      };
      merged.total = merged.prompt + merged.completion;
      const cacheWrite = Math.max(previous.cacheWrite ?? 0, next.cacheWrite ?? 0);
      if (cacheWrite > 0) merged.cacheWrite = cacheWrite;
      const cacheWrite1h = Math.max(previous.cacheWrite1h ?? 0, next.cacheWrite1h ?? 0);
      if (cacheWrite1h > 0) merged.cacheWrite1h = cacheWrite1h;
      return merged;
    },
  };
})();

const NONE: readonly { at: number; usage: Usage }[] = [];

/** Each usage object in the events, with where it starts, so its event can be found. */
export function usageObjects(text: string): readonly { at: number; usage: Usage }[] {
  let found: { at: number; usage: Usage }[] | undefined;
  USAGE_OBJECT.lastIndex = 0;
  for (let match = USAGE_OBJECT.exec(text); match !== null; match = USAGE_OBJECT.exec(text)) {
    const open = match.index + match[0].length - 1;
    const close = objectEnd(text, open);
    if (close < 0) continue;
    USAGE_OBJECT.lastIndex = close;
    try {
      const usage = normaliseUsage(JSON.parse(text.slice(open, close).replace(CONTINUATION, '\n')));
      if (usage !== undefined) (found ??= []).push({ at: match.index, usage });
    } catch {
      // Not JSON after all: no usage here.
    }
  }
  return found ?? NONE;
}

/** Index just past the `}` closing the object that opens at `open`, or -1; braces inside strings do not count. */
function objectEnd(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */) depth++;
    else if (c === 0x7d /* } */ && --depth === 0) return i + 1;
  }
  return -1;
}

const isLineBreak = (code: number): boolean => code === 0x0a || code === 0x0d;

/** Index of the first character at or after `at` past the GAP there. */
function skipGap(text: string, at: number): number {
  let i = at;
  for (;;) {
    const code = text.charCodeAt(i);
    if (code === 0x20 || code === 0x09 || isLineBreak(code)) i++;
    else if (code === 0x64 /* d */ && i > 0 && isLineBreak(text.charCodeAt(i - 1)) && text.startsWith('data:', i)) i += 5;
    else return i;
  }
}

/** Index of the value of the key (`"name"`, quoted) that starts at `keyAt`; -1 when no `:` follows it. */
function valueAt(text: string, keyAt: number, key: string): number {
  const colon = skipGap(text, keyAt + key.length);
  return text.charCodeAt(colon) === 0x3a /* : */ ? skipGap(text, colon + 1) : -1;
}
