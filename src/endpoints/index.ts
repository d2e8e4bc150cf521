import type { ModelKind } from '../catalog/catalog.js';
import { audioSpeech, audioTranscriptions, audioTranslations } from './audio.js';
import { chatCompletions } from './chat-completions.js';
import { completions } from './completions.js';
import { embeddings } from './embeddings.js';
import type { CatalogEndpoint, EndpointDescription, StoredResponseEndpoint } from './endpoint.js';
import { imagesEdits } from './images-edits.js';
import { imagesGenerations } from './images-generations.js';
import { messages, messagesCountTokens } from './messages.js';
import { moderations } from './moderations.js';
import { responses, responsesCompact, responsesInputTokens, storedResponseOperations } from './responses.js';

/** Every model endpoint the gateway serves. */
export const API_ENDPOINTS: readonly EndpointDescription[] = [
  chatCompletions,
  responses,
  responsesInputTokens,
  responsesCompact,
  messages,
  messagesCountTokens,
  completions,
  embeddings,
  moderations,
  imagesGenerations,
  imagesEdits,
  audioTranscriptions,
  audioTranslations,
  audioSpeech,
];

/** The operations on one stored response, each at the account that made it. */
export const STORED_RESPONSE_ENDPOINTS: readonly StoredResponseEndpoint[] = storedResponseOperations;

/** What the gateway answers itself. */
export const CATALOG_ENDPOINTS: readonly CatalogEndpoint[] = [
  { method: 'GET', path: '/v1/models', answers: 'model-list' },
  { method: 'GET', path: '/v1/models/:id', answers: 'model' },
];

/** Every route path of the API, once each: the `endpoint` label values of metrics (besides `none`). */
export const ENDPOINT_PATHS: readonly string[] = [
  ...new Set([...API_ENDPOINTS, ...STORED_RESPONSE_ENDPOINTS, ...CATALOG_ENDPOINTS].map((e) => e.path)),
];

/** The endpoint to name when a model of `kind` is sent to an endpoint that does not take it. */
export function endpointForKind(kind: ModelKind): string | undefined {
  return API_ENDPOINTS.find((e) => e.kinds.includes(kind))?.path;
}
