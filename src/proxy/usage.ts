/** Token counts of one response, whichever endpoint produced them. */
export interface Usage {
  /** Input tokens, all of them: the cached, cache-write, image and audio ones below are parts of it. */
  prompt: number;
  completion: number;
  cached: number;
  /** Reasoning tokens: a part of `completion`, counted apart as well. */
  reasoning: number;
  total: number;
  /** Seconds of audio, for a model billed by duration (whisper's `usage.type` is `duration`). */
  seconds?: number;
  /** Input tokens that are images (an image edit's input pictures): a part of `prompt`. */
  imageInput?: number;
  /** Input tokens that are audio (a transcription's recording): a part of `prompt`. */
  audioInput?: number;
  /** Input tokens written to the prompt cache (Anthropic's Messages API): a part of `prompt`. */
  cacheWrite?: number;
  /** Those of `cacheWrite` kept for an hour rather than five minutes. */
  cacheWrite1h?: number;
}

interface ChatUsageJson {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown; audio_tokens?: unknown } | null;
  input_tokens?: unknown;
  output_tokens?: unknown;
  input_tokens_details?: { cached_tokens?: unknown; image_tokens?: unknown } | null;
  input_token_details?: { audio_tokens?: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: unknown } | null;
  output_tokens_details?: { reasoning_tokens?: unknown } | null;
  type?: unknown;
  seconds?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation?: { ephemeral_1h_input_tokens?: unknown } | null;
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);

/**
 * Reads a chat `usage` object (prompt/completion tokens), a Responses, images or audio one (input/output
 * tokens), whisper's duration, or an Anthropic one, whose `input_tokens` leave out the cache's reads and
 * writes: they are added, so `prompt` means every input token here too.
 */
export function normaliseUsage(json: unknown): Usage | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const u = json as ChatUsageJson;
  const cacheRead = count(u.cache_read_input_tokens);
  const cacheWrite = count(u.cache_creation_input_tokens);
  const prompt = count(u.prompt_tokens ?? u.input_tokens) + cacheRead + cacheWrite;
  const completion = count(u.completion_tokens ?? u.output_tokens);
  const cached = count(u.prompt_tokens_details?.cached_tokens ?? u.input_tokens_details?.cached_tokens) + cacheRead;
  const reasoning = count(u.completion_tokens_details?.reasoning_tokens ?? u.output_tokens_details?.reasoning_tokens);
  const total = count(u.total_tokens) || prompt + completion;
  const usage: Usage = { prompt, completion, cached, reasoning, total };
  if (u.type === 'duration') usage.seconds = count(u.seconds);
  // Images and transcriptions say which input tokens are pictures or sound: they have prices of their own.
  const imageInput = count(u.input_tokens_details?.image_tokens);
  if (imageInput > 0) usage.imageInput = imageInput;
  const audioInput = count(u.input_token_details?.audio_tokens ?? u.prompt_tokens_details?.audio_tokens);
  if (audioInput > 0) usage.audioInput = audioInput;
  if (cacheWrite > 0) usage.cacheWrite = cacheWrite;
  const cacheWrite1h = Math.min(count(u.cache_creation?.ephemeral_1h_input_tokens), cacheWrite);
  if (cacheWrite1h > 0) usage.cacheWrite1h = cacheWrite1h;
  return usage;
}

const USAGE_KEY = Buffer.from('"usage"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/**
 * Finds the `usage` object of a JSON response body without parsing the body. A literal `"usage"` followed
 * by `:` can only be a key (inside a JSON string its quotes would be escaped), and OpenAI-style responses
 * put the top-level usage last, so the last occurrence is taken and only that object is parsed.
 */
export function usageFromJsonBody(body: Buffer): Usage | undefined {
  let at = body.lastIndexOf(USAGE_KEY);
  while (at >= 0) {
    const object = objectAfterKey(body, at + USAGE_KEY.length);
    if (object !== undefined) {
      try {
        return normaliseUsage(JSON.parse(object));
      } catch {
        return undefined;
      }
    }
    at = at === 0 ? -1 : body.lastIndexOf(USAGE_KEY, at - 1);
  }
  return undefined;
}

/** The text of the `{...}` value that follows `"key"` at `from`, or undefined if it is not an object. */
function objectAfterKey(body: Buffer, from: number): string | undefined {
  let i = from;
  while (i < body.length && body[i] !== 0x3a /* : */) {
    if (!isSpace(body[i]!)) return undefined;
    i++;
  }
  i++;
  while (i < body.length && isSpace(body[i]!)) i++;
  if (body[i] !== OPEN) return undefined;
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN) depth++;
    else if (c === CLOSE && --depth === 0) return body.toString('utf8', start, i + 1);
  }
  return undefined;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
