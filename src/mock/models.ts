// GET /v1/models and /v1/models/{id}: one model of every kind the gateway routes.
import { json, notFound } from './errors.js';
import type { Ctx, Plan } from './types.js';

export const MOCK_MODEL_IDS = [
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-image-2',
  'Doubao-1.5-pro-32k',
  'gpt-5',
  'gpt-5-codex',
  'text-embedding-3-small',
  'text-embedding-3-large',
  'text-embedding-ada-002',
  'gpt-3.5-turbo-instruct',
  'omni-moderation-latest',
  'text-moderation-latest',
  'whisper-1',
  'gpt-4o-transcribe',
  'gpt-4o-mini-transcribe',
  'tts-1',
  'tts-1-hd',
  'gpt-4o-mini-tts',
] as const;

const MODELS_CREATED = 1_715_367_049;
const modelObject = (id: string): object => ({ id, object: 'model', created: MODELS_CREATED, owned_by: 'mock' });
const MODELS_BODY = JSON.stringify({ object: 'list', data: MOCK_MODEL_IDS.map(modelObject) });
const KNOWN = new Set<string>(MOCK_MODEL_IDS);

export const listModels = (): Plan => json(200, MODELS_BODY);

export function retrieveModel(ctx: Ctx): Plan {
  if (!KNOWN.has(ctx.param)) return notFound(`The model '${ctx.param}' does not exist`);
  return json(200, JSON.stringify(modelObject(ctx.param)));
}
