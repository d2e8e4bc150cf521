// POST /v1/embeddings: deterministic unit vectors (float or base64 of little-endian float32).
import { createHash } from 'node:crypto';
import { badBody, invalidRequest, json, missingParam } from './errors.js';
import { countWords, isObject } from './text.js';
import type { Ctx, Plan } from './types.js';

const DEFAULT_DIMENSIONS: Readonly<Record<string, number>> = { 'text-embedding-3-large': 3072 };
const FALLBACK_DIMENSIONS = 1536;
/** Models without the `dimensions` parameter (as in OpenAI's API). */
const FIXED_DIMENSIONS = new Set(['text-embedding-ada-002']);

const isTokens = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t));

/** The inputs as strings or token arrays, or undefined when `input` has none of OpenAI's shapes. */
function inputsOf(input: unknown): (string | number[])[] | undefined {
  if (typeof input === 'string') return input === '' ? undefined : [input];
  if (!Array.isArray(input) || input.length === 0 || input.length > 2048) return undefined;
  if (isTokens(input)) return [input];
  if (input.every((v) => (typeof v === 'string' && v !== '') || isTokens(v))) return input as (string | number[])[];
  return undefined;
}

/** A unit vector seeded by the input's hash (xorshift32), rounded to float32 so both encodings agree. */
export function mockEmbedding(input: string | number[], dimensions: number): number[] {
  const digest = createHash('sha256').update(typeof input === 'string' ? input : input.join(',')).digest();
  let x = digest.readUInt32LE(0) || 1;
  const values: number[] = [];
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = ((x >>> 0) / 0xffffffff) * 2 - 1;
    values.push(v);
    norm += v * v;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  return values.map((v) => Math.fround(v * scale));
}

/** prompt_tokens = words of each string input + length of each token array. */
export function embeddings(ctx: Ctx): Plan {
  const body = ctx.rec.body;
  if (!isObject(body)) return badBody(body);
  if (body.input === undefined) return missingParam('input');
  const inputs = inputsOf(body.input);
  if (inputs === undefined) {
    return invalidRequest("'input' must be a non-empty string, or an array of 1 to 2048 strings or token arrays.", null, 'input');
  }
  const model = typeof body.model === 'string' ? body.model : '';
  let dimensions = DEFAULT_DIMENSIONS[model] ?? FALLBACK_DIMENSIONS;
  if (body.dimensions !== undefined) {
    if (FIXED_DIMENSIONS.has(model)) return invalidRequest('This model does not support specifying dimensions.', null, 'dimensions');
    if (typeof body.dimensions !== 'number' || !Number.isInteger(body.dimensions) || body.dimensions < 1) {
      return invalidRequest("'dimensions' must be a positive integer.", null, 'dimensions');
    }
    dimensions = body.dimensions;
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return invalidRequest("'encoding_format' must be 'float' or 'base64'.", null, 'encoding_format');
  }
  let promptTokens = 0;
  const data = inputs.map((input, index) => {
    promptTokens += typeof input === 'string' ? countWords(input) : input.length;
    const vector = mockEmbedding(input, dimensions);
    const embedding = format === 'float' ? vector : Buffer.from(new Float32Array(vector).buffer).toString('base64');
    return { object: 'embedding', index, embedding };
  });
  const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens };
  return json(200, JSON.stringify({ object: 'list', data, model, usage }));
}
