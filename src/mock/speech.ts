// POST /v1/audio/speech: JSON in, deterministic audio bytes out in several writes (or SSE deltas).
import { createHash } from 'node:crypto';
import { badBody, invalidRequest, missingParam } from './errors.js';
import { isObject } from './text.js';
import type { Ctx, Plan, State } from './types.js';

/** Audio bytes per character of `input`. */
export const SPEECH_BYTES_PER_CHAR = 64;

const FORMATS: Readonly<Record<string, { type: string; magic: Buffer }>> = {
  mp3: { type: 'audio/mpeg', magic: Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1') },
  opus: { type: 'audio/opus', magic: Buffer.from('OggS', 'latin1') },
  aac: { type: 'audio/aac', magic: Buffer.from([0xff, 0xf1]) },
  flac: { type: 'audio/flac', magic: Buffer.from('fLaC', 'latin1') },
  wav: { type: 'audio/wav', magic: Buffer.from('RIFF\x00\x00\x00\x00WAVE', 'latin1') },
  pcm: { type: 'audio/pcm', magic: Buffer.alloc(0) },
};

export interface SpeechRequest {
  input: string;
  voice: string;
  response_format?: string;
}

/** The exact bytes the mock answers for a speech request: the format's magic bytes, then hashed noise. */
export function mockSpeechAudio(req: SpeechRequest): Buffer {
  const format = FORMATS[req.response_format ?? 'mp3'] ?? FORMATS.mp3;
  const length = Math.max(1, Array.from(req.input).length) * SPEECH_BYTES_PER_CHAR;
  const seed = `${req.voice}\n${req.response_format ?? 'mp3'}\n${req.input}`;
  const blocks: Buffer[] = [format?.magic ?? Buffer.alloc(0)];
  for (let i = 0, have = 0; have < length; i++, have += 32) {
    blocks.push(createHash('sha256').update(`${i}\n${seed}`).digest());
  }
  return Buffer.concat(blocks).subarray(0, (format?.magic.length ?? 0) + length);
}

function splitBytes(bytes: Buffer, count: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    pieces.push(bytes.subarray(Math.floor((i * bytes.length) / count), Math.floor(((i + 1) * bytes.length) / count)));
  }
  return pieces;
}

export function speech(ctx: Ctx, state: State): Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return badBody(body);
  if (typeof body.input !== 'string') return missingParam('input');
  if (typeof body.voice !== 'string' && !isObject(body.voice)) return missingParam('voice');
  const format = typeof body.response_format === 'string' ? body.response_format : 'mp3';
  const kind = FORMATS[format];
  if (kind === undefined) {
    return invalidRequest(`Invalid value for 'response_format': '${format}'.`, 'invalid_value', 'response_format');
  }
  const voice = typeof body.voice === 'string' ? body.voice : JSON.stringify(body.voice);
  const audio = mockSpeechAudio({ input: body.input, voice, response_format: format });
  const chunks = splitBytes(audio, Math.max(2, state.streamChunks));
  if (body.stream_format === 'sse') {
    // Usage: input and output tokens are both the number of characters of `input`.
    const chars = Array.from(body.input).length;
    const pieces = chunks.map((c) => `data: ${JSON.stringify({ type: 'speech.audio.delta', audio: c.toString('base64') })}\n\n`);
    const usage = { input_tokens: chars, output_tokens: chars, total_tokens: 2 * chars };
    pieces.push(`data: ${JSON.stringify({ type: 'speech.audio.done', usage })}\n\n`);
    return { kind: 'stream', pieces, holdAt: pieces.length - 2 };
  }
  return { kind: 'stream', pieces: chunks, holdAt: chunks.length - 1, contentType: kind.type };
}
