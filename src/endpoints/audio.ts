import { typedEventStream } from '../proxy/stream-formats.js';
import { transcriptionFormSchema } from '../schemas/forms.js';
import { speechRequestSchema } from '../schemas/speech.js';
import type { EndpointDescription } from './endpoint.js';

/** Speech to text, in the spoken language. A form with the audio in `file`; `stream=true` answers in SSE. */
export const audioTranscriptions: EndpointDescription = {
  path: '/v1/audio/transcriptions',
  upstreamPath: '/audio/transcriptions',
  kinds: ['transcription'],
  schema: transcriptionFormSchema,
  form: { fileFields: ['file'] },
  // `transcript.text.delta` events, ended (with the usage) by `transcript.text.done`, without `data: [DONE]`.
  stream: typedEventStream(['transcript.text.done']),
};

/** Speech to English text. */
export const audioTranslations: EndpointDescription = {
  ...audioTranscriptions,
  path: '/v1/audio/translations',
  upstreamPath: '/audio/translations',
};

/** Text to speech: JSON in, audio bytes out, relayed as they arrive with the upstream's content type. */
export const audioSpeech: EndpointDescription = {
  path: '/v1/audio/speech',
  upstreamPath: '/audio/speech',
  kinds: ['speech'],
  schema: speechRequestSchema,
  // With `stream_format: "sse"`: `speech.audio.delta` events, ended (with the usage) by `speech.audio.done`.
  stream: typedEventStream(['speech.audio.done']),
};
