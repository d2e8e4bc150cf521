// POST /v1/audio/transcriptions and /v1/audio/translations (multipart): a transcript naming the file,
// as json, text, srt, vtt or verbose_json, or streamed as transcript.text.* events.
import { isPlan, invalidRequest, json, missingParam } from './errors.js';
import { formFiles, formString, readForm } from './multipart.js';
import { countWords, splitInto } from './text.js';
import type { Ctx, Plan, State } from './types.js';

/** Audio length the mock assumes: 16,000 bytes per second (128 kbit/s), at least one second. */
export const AUDIO_BYTES_PER_SECOND = 16_000;
/** Input audio tokens billed per second by the token-billed models (gpt-4o-transcribe and kin). */
export const AUDIO_TOKENS_PER_SECOND = 10;
const WHISPER = 'whisper-1';
const TEXT_TYPE = 'text/plain; charset=utf-8';

type Task = 'transcribe' | 'translate';

const seconds = (bytes: number): number => Math.max(1, Math.ceil(bytes / AUDIO_BYTES_PER_SECOND));

function timestamp(s: number, separator: string): string {
  return `00:00:${String(s).padStart(2, '0')}${separator}000`;
}

/**
 * Usage: whisper-1 reports `{type: "duration", seconds}`; the other models report tokens:
 * input = AUDIO_TOKENS_PER_SECOND per second + words of `prompt`, output = words of the text.
 */
function usageOf(model: string, secs: number, prompt: string, text: string): object {
  if (model === WHISPER) return { type: 'duration', seconds: secs };
  const audioTokens = secs * AUDIO_TOKENS_PER_SECOND;
  const textTokens = countWords(prompt);
  const output = countWords(text);
  return {
    type: 'tokens',
    input_tokens: audioTokens + textTokens,
    input_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
    output_tokens: output,
    total_tokens: audioTokens + textTokens + output,
  };
}

async function audioText(ctx: Ctx, state: State, task: Task): Promise<Plan> {
  const form = await readForm(ctx.rec);
  if (isPlan(form)) return form;
  const file = formFiles(form, 'file')[0];
  if (file === undefined) return missingParam('file');
  const model = formString(form, 'model');
  if (model === undefined) return missingParam('model');
  const format = formString(form, 'response_format') ?? 'json';
  const formats = model === WHISPER ? ['json', 'text', 'srt', 'vtt', 'verbose_json'] : ['json', 'text'];
  if (!formats.includes(format)) {
    return invalidRequest(`response_format '${format}' is not compatible with model '${model}'.`, 'unsupported_value', 'response_format');
  }
  const stream = formString(form, 'stream') === 'true';
  if (stream && model === WHISPER) {
    return invalidRequest(`Streaming is not supported for model '${model}'.`, 'unsupported_value', 'stream');
  }
  const secs = seconds(file.size);
  const text = `Mock ${task === 'transcribe' ? 'transcript' : 'translation'} of ${file.name} (${file.size} bytes).`;
  const usage = usageOf(model, secs, formString(form, 'prompt') ?? '', text);
  // Translations answer only the text, as OpenAI's do.
  const withUsage = task === 'transcribe' ? { usage } : {};

  if (stream) {
    const pieces = splitInto(text, state.streamChunks).map(
      (delta) => `data: ${JSON.stringify({ type: 'transcript.text.delta', delta })}\n\n`,
    );
    const holdAt = pieces.length - 1;
    pieces.push(`data: ${JSON.stringify({ type: 'transcript.text.done', text, ...withUsage })}\n\n`);
    return { kind: 'stream', pieces, holdAt };
  }
  switch (format) {
    case 'text':
      return { kind: 'json', status: 200, body: `${text}\n`, contentType: TEXT_TYPE };
    case 'srt':
      return { kind: 'json', status: 200, body: `1\n${timestamp(0, ',')} --> ${timestamp(secs, ',')}\n${text}\n\n`, contentType: TEXT_TYPE };
    case 'vtt':
      return { kind: 'json', status: 200, body: `WEBVTT\n\n${timestamp(0, '.')} --> ${timestamp(secs, '.')}\n${text}\n\n`, contentType: 'text/vtt; charset=utf-8' };
    case 'verbose_json': {
      const segment = { id: 0, seek: 0, start: 0, end: secs, text, tokens: [], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 };
      return json(200, JSON.stringify({ task, language: 'english', duration: secs, text, segments: [segment], ...withUsage }));
    }
    default:
      return json(200, JSON.stringify({ text, ...withUsage }));
  }
}

export const transcriptions = (ctx: Ctx, state: State): Promise<Plan> => audioText(ctx, state, 'transcribe');
export const translations = (ctx: Ctx, state: State): Promise<Plan> => audioText(ctx, state, 'translate');
