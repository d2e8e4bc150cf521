import { z } from 'zod';

/** OpenAI's documented longest text for one speech request. */
const MAX_SPEECH_INPUT = 4096;

export const speechRequestSchema = z.looseObject({
  model: z.string(),
  input: z.string().min(1, 'must not be empty').max(MAX_SPEECH_INPUT, `must be at most ${MAX_SPEECH_INPUT} characters`),
  voice: z.union([z.string().min(1), z.looseObject({ id: z.string() })]),
  instructions: z.string().nullish(),
  response_format: z.enum(['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm']).nullish(),
  speed: z.number().min(0.25).max(4).nullish(),
  stream_format: z.enum(['sse', 'audio']).nullish(),
});
