// The mock's endpoints: exact paths in one map (one lookup on the hot path), then the few paths
// that carry an id.
import { transcriptions, translations } from './audio.js';
import { chatCompletions } from './chat.js';
import { completions } from './completions.js';
import { embeddings } from './embeddings.js';
import { errorBody, json } from './errors.js';
import { imageEdits, imageGenerations } from './images.js';
import { countMessageTokens, createMessage } from './messages.js';
import { listModels, retrieveModel } from './models.js';
import { moderations } from './moderations.js';
import { createResponse } from './responses/create.js';
import {
  cancelResponse,
  compactResponse,
  countResponseInputTokens,
  deleteResponse,
  listInputItems,
  retrieveResponse,
} from './responses/manage.js';
import { speech } from './speech.js';
import type { Handler, Plan } from './types.js';

const EXACT = new Map<string, Handler>([
  ['POST /v1/chat/completions', chatCompletions],
  ['POST /v1/responses', createResponse],
  ['POST /v1/responses/input_tokens', countResponseInputTokens],
  ['POST /v1/responses/compact', compactResponse],
  ['POST /v1/messages', createMessage],
  ['POST /v1/messages/count_tokens', countMessageTokens],
  ['POST /v1/embeddings', embeddings],
  ['POST /v1/completions', completions],
  ['POST /v1/moderations', moderations],
  ['POST /v1/images/generations', imageGenerations],
  ['POST /v1/images/edits', imageEdits],
  ['POST /v1/audio/transcriptions', transcriptions],
  ['POST /v1/audio/translations', translations],
  ['POST /v1/audio/speech', speech],
  ['GET /v1/models', listModels],
]);

/** `{id}` is one path segment. */
const WITH_ID: { method: string; pattern: RegExp; handler: Handler }[] = [
  { method: 'GET', pattern: /^\/v1\/responses\/([^/]+)$/, handler: retrieveResponse },
  { method: 'DELETE', pattern: /^\/v1\/responses\/([^/]+)$/, handler: deleteResponse },
  { method: 'POST', pattern: /^\/v1\/responses\/([^/]+)\/cancel$/, handler: cancelResponse },
  { method: 'GET', pattern: /^\/v1\/responses\/([^/]+)\/input_items$/, handler: listInputItems },
  { method: 'GET', pattern: /^\/v1\/models\/([^/]+)$/, handler: retrieveModel },
];

export function findRoute(method: string, path: string): { handler: Handler; param: string } | undefined {
  const exact = EXACT.get(`${method} ${path}`);
  if (exact !== undefined) return { handler: exact, param: '' };
  for (const route of WITH_ID) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m?.[1] !== undefined) return { handler: route.handler, param: decodeURIComponent(m[1]) };
  }
  return undefined;
}

export function unknownUrl(method: string, path: string): Plan {
  const msg = `Unknown request URL: ${method} ${path}. Please check the URL for typos, or see the docs at https://platform.openai.com/docs/api-reference/.`;
  return json(404, errorBody(msg, 'invalid_request_error', 'unknown_url'));
}
