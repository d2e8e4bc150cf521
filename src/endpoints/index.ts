import type { ModelKind } from '../catalog/catalog.js';
import { audioSpeech, audioTranscriptions, audioTranslations } from './audio.js';
import { chatCompletions } from './chat-completions.js';
import { completions } from './completions.js';
import { embeddings } from './embeddings.js';
import type { EndpointDescription } from './endpoint.js';
import { imagesEdits } from './images-edits.js';
import { imagesGenerations } from './images-generations.js';
import { moderations } from './moderations.js';
import { responses, responsesCompact, responsesInputTokens } from './responses.js';

/** Every model endpoint the gateway serves. */
export const API_ENDPOINTS: readonly EndpointDescription[] = [
  chatCompletions,
  responses,
  responsesInputTokens,
  responsesCompact,
  completions,
  embeddings,
  moderations,
  imagesGenerations,
  imagesEdits,
  audioTranscriptions,
  audioTranslations,
  audioSpeech,
];

/** The endpoint to name when a model of `kind` is sent to an endpoint that does not take it. */
export function endpointForKind(kind: ModelKind): string | undefined {
  return API_ENDPOINTS.find((e) => e.kinds.includes(kind))?.path;
}
