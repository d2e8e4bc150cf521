// POST /v1/moderations: flags text that mentions violence; `model` is optional, as in OpenAI's API.
import { badBody, invalidRequest, json, missingParam } from './errors.js';
import { isObject } from './text.js';
import type { Ctx, Plan } from './types.js';

export const DEFAULT_MODERATION_MODEL = 'omni-moderation-latest';
const CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
/** The words that make the mock flag an input (category "violence"). */
const VIOLENT = /\b(kill|violence|violent)\b/i;

/** Each result's input: one per string, or one for a list of text and image parts. */
function inputsOf(input: unknown): { text: string; image: boolean }[] | undefined {
  if (typeof input === 'string') return [{ text: input, image: false }];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((v) => typeof v === 'string')) return input.map((text: string) => ({ text, image: false }));
  if (!input.every(isObject)) return undefined;
  const texts = input.filter((p) => p.type === 'text' && typeof p.text === 'string').map((p) => p.text as string);
  return [{ text: texts.join(' '), image: input.some((p) => p.type === 'image_url') }];
}

function result(input: { text: string; image: boolean }, omni: boolean): object {
  const violent = VIOLENT.test(input.text);
  const categories: Record<string, boolean> = {};
  const scores: Record<string, number> = {};
  const applied: Record<string, string[]> = {};
  for (const c of CATEGORIES) {
    const hit = violent && c === 'violence';
    categories[c] = hit;
    scores[c] = hit ? 0.9 : 0.0001;
    applied[c] = input.image ? ['text', 'image'] : ['text'];
  }
  return { flagged: violent, categories, category_scores: scores, ...(omni ? { category_applied_input_types: applied } : {}) };
}

export function moderations(ctx: Ctx): Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return badBody(body);
  if (body.input === undefined) return missingParam('input');
  const inputs = inputsOf(body.input);
  if (inputs === undefined) return invalidRequest("'input' must be a string, an array of strings, or an array of parts.", null, 'input');
  const model = typeof body.model === 'string' ? body.model : DEFAULT_MODERATION_MODEL;
  const omni = model.startsWith('omni-');
  return json(200, JSON.stringify({ id: `modr-mock-${ctx.n}`, model, results: inputs.map((i) => result(i, omni)) }));
}
