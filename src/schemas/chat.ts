import { z } from 'zod';
import { LIST_LIMITS, listOf } from './lists.js';

/**
 * The chat body rules of the documented contract, in OpenAI's shape. Objects are loose: fields the gateway
 * does not know are forwarded untouched, so new OpenAI parameters keep working. Optional fields accept
 * null, as OpenAI's API does. Arrays are `listOf`: bounded, and checked up to their first bad item.
 */

const imageUrl = z
  .string()
  .refine((url) => url.startsWith('data:') || url.startsWith('https:'), 'must be a data: or https: URL');

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: imageUrl, detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const audioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
});
const filePart = z.looseObject({ type: z.literal('file'), file: z.looseObject({}) });
const refusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

const atLeastOnePart = { length: 1, message: 'must hold at least one content part' };
const userContent = z.union([
  z.string(),
  listOf(z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart]), LIST_LIMITS.contentParts, atLeastOnePart),
]);
const textContent = z.union([z.string(), listOf(textPart, LIST_LIMITS.contentParts, atLeastOnePart)]);
const assistantContent = z.union([z.string(), listOf(z.discriminatedUnion('type', [textPart, refusalPart]), LIST_LIMITS.contentParts)]).nullable();

const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: textContent, name: z.string().optional() }),
  z.looseObject({ role: z.literal('developer'), content: textContent, name: z.string().optional() }),
  z.looseObject({ role: z.literal('user'), content: userContent, name: z.string().optional() }),
  z.looseObject({
    role: z.literal('assistant'),
    content: assistantContent.optional(),
    tool_calls: listOf(toolCall, LIST_LIMITS.toolCalls).optional(),
    name: z.string().optional(),
  }),
  z.looseObject({ role: z.literal('tool'), content: textContent, tool_call_id: z.string() }),
]);

const functionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"');

const tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: functionName,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: functionName }) }),
]);

const range = (min: number, max: number) => z.number().min(min).max(max).nullish();
const positiveInt = z.number().int().positive().nullish();

export const chatRequestSchema = z.looseObject({
  model: z.string(),
  messages: listOf(message, LIST_LIMITS.messages, { length: 1, message: 'must contain at least one message' }),
  temperature: range(0, 2),
  top_p: range(0, 1),
  presence_penalty: range(-2, 2),
  frequency_penalty: range(-2, 2),
  n: positiveInt,
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  stop: z.union([z.string(), listOf(z.string(), LIST_LIMITS.stop)]).nullish(),
  max_tokens: positiveInt,
  max_completion_tokens: positiveInt,
  tools: listOf(tool, LIST_LIMITS.tools).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  seed: z.number().int().nullish(),
  user: z.string().nullish(),
});
