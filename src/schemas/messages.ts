import { z } from 'zod';
import { LIST_LIMITS, listOf } from './lists.js';

/**
 * The body rules of Anthropic's Messages API: what it fixes and no more. Objects are loose, so new
 * parameters and block fields pass through untouched; block types are checked against those the API
 * documents, so a typo is refused here rather than after an upstream round trip.
 */

/** The content block types a request may carry (those of the answer are sent back in later turns). */
export const MESSAGE_BLOCK_TYPES = [
  'text',
  'image',
  'document',
  'search_result',
  'tool_use',
  'tool_result',
  'thinking',
  'redacted_thinking',
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
  'tool_reference',
  'mcp_tool_use',
  'mcp_tool_result',
  'container_upload',
] as const;

const block = z.looseObject({ type: z.enum(MESSAGE_BLOCK_TYPES) });
const atLeastOneBlock = { length: 1, message: 'must hold at least one content block' };
const content = z.union([z.string(), listOf(block, LIST_LIMITS.contentParts, atLeastOneBlock)]);

// Consecutive turns of one role are allowed: the API combines them into one turn. A `system` message in the
// conversation is an instruction given from there on (mid-conversation system messages, which Claude Code sends).
const message = z.looseObject({ role: z.enum(['user', 'assistant', 'system']), content });

const common = {
  model: z.string(),
  messages: listOf(message, LIST_LIMITS.messages),
  system: z.union([z.string(), listOf(z.looseObject({ type: z.literal('text'), text: z.string() }), LIST_LIMITS.contentParts)]).optional(),
  tools: listOf(z.looseObject({ name: z.string() }), LIST_LIMITS.contentParts).optional(),
};

/** `POST /v1/messages`. */
export const messagesRequestSchema = z.looseObject({
  ...common,
  max_tokens: z.number().int().positive(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
});

/** `POST /v1/messages/count_tokens`: the same request, with no answer to size. */
export const countTokensRequestSchema = z.looseObject(common);
