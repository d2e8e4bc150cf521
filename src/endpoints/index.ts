import type { ModelKind } from '../catalog/catalog.js';
import { chatCompletions } from './chat-completions.js';
import type { EndpointDescription } from './endpoint.js';
import { imagesGenerations } from './images-generations.js';
import { responses, responsesCompact, responsesInputTokens } from './responses.js';

/** Every model endpoint the gateway serves. */
export const API_ENDPOINTS: readonly EndpointDescription[] = [chatCompletions, imagesGenerations, responses, responsesInputTokens, responsesCompact];

/** The endpoint to name when a model of `kind` is sent to an endpoint that does not take it. */
export function endpointForKind(kind: ModelKind): string | undefined {
  return API_ENDPOINTS.find((e) => e.kinds.includes(kind))?.path;
}
