import { createHash } from 'node:crypto';
import { chatMessagesOf } from './content.js';
import { isObject, untranslatable, type Json } from './untranslatable.js';

// A Messages request as a chat completions request (docs/anthropic.md, "Translation to chat models"). Every
// top-level field is either translated, or changes nothing about the answer and is left out, or is refused:
// a new field the Messages API adds is refused until it is given a translation.

/** Fields that are hints only: leaving them out changes no answer (prompt caching, speed, diagnostics). */
const HINTS = new Set(['cache_control', 'speed', 'diagnostics']);

/**
 * Thinking budgets below these are a `low`, then a `medium` reasoning effort, larger ones `high`: Claude
 * Code's "think" (4,000), "think hard" (10,000) and "ultrathink" (31,999) fall one in each.
 */
export const LOW_EFFORT_BELOW = 8_192;
export const MEDIUM_EFFORT_BELOW = 24_576;

/** Anthropic's `output_config.effort` levels as OpenAI's `reasoning_effort` (which has no level above `xhigh`). */
const EFFORTS: Readonly<Record<string, string>> = { low: 'low', medium: 'medium', high: 'high', xhigh: 'xhigh', max: 'xhigh' };

type FieldTranslation = (value: unknown, chat: Json, body: Json) => void;

const FIELDS: Readonly<Record<string, FieldTranslation>> = {
  model: () => undefined, // model, system and messages: first, below
  system: () => undefined,
  messages: () => undefined,
  max_tokens: (value, chat) => (chat.max_completion_tokens = value),
  stream: (value, chat) => {
    if (value !== true) return;
    chat.stream = true;
    // The usage comes in the stream's last chunk only when asked for; the answer needs it for `message_delta`.
    chat.stream_options = { include_usage: true };
  },
  temperature: (value, chat) => (chat.temperature = value),
  top_p: (value, chat) => (chat.top_p = value),
  stop_sequences: (value, chat) => {
    if (Array.isArray(value) && value.length > 0) chat.stop = value;
  },
  metadata: (value, chat) => {
    const user = isObject(value) ? value.user_id : undefined;
    // OpenAI's end-user id takes 64 characters at most and should not identify anyone: a hash of Claude Code's.
    if (typeof user === 'string' && user !== '') chat.safety_identifier = createHash('sha256').update(user).digest('hex');
  },
  service_tier: (value, chat) => {
    if (value === 'auto') chat.service_tier = 'auto';
    else if (value === 'standard_only') chat.service_tier = 'default';
    else throw untranslatable('service_tier', `the service tier '${String(value)}'`);
  },
  thinking: (value, chat, body) => {
    const effort = effortOfThinking(value);
    if (effort !== undefined && !hasEffort(body)) chat.reasoning_effort = effort;
  },
  output_config: (value, chat) => outputConfig(value, chat),
  tools: (value, chat) => {
    // A deferred tool is shown to the model only once Anthropic's tool search loads it, which a chat model
    // cannot run: left out, the chat model sees the tools Claude would see before any search.
    const tools = Array.isArray(value) ? value : [];
    const shown = tools.flatMap((tool, i) => (isDeferred(tool) ? [] : [functionTool(tool, `tools[${i}]`)]));
    if (shown.length > 0) chat.tools = shown;
  },
  tool_choice: (value, chat, body) => toolChoice(value, chat, Array.isArray(body.tools) && body.tools.some((tool) => !isDeferred(tool))),
  context_management: (value) => {
    // Edits that clear old thinking blocks ask for nothing here: thinking blocks never go to a chat model.
    const edits = isObject(value) && Array.isArray(value.edits) ? value.edits : [];
    const other = edits.findIndex((edit) => !(isObject(edit) && typeof edit.type === 'string' && edit.type.startsWith('clear_thinking_')));
    if (other >= 0 || !isObject(value) || Object.keys(value).some((key) => key !== 'edits')) {
      throw untranslatable(other >= 0 ? `context_management.edits[${other}]` : 'context_management', 'context management other than clearing thinking');
    }
  },
};

const isDeferred = (tool: unknown): boolean => isObject(tool) && tool.defer_loading === true;

/** The chat completions request for a Messages request (schema-checked); throws a 400 naming what cannot be translated. */
export function chatRequestOf(body: Json): Json {
  const chat: Json = { model: body.model, messages: chatMessagesOf(body.system, body.messages as unknown[]) };
  for (const [field, value] of Object.entries(body)) {
    const translate = FIELDS[field];
    if (translate !== undefined) translate(value, chat, body);
    else if (!HINTS.has(field)) throw untranslatable(field, `'${field}'`);
  }
  return chat;
}

/** `enabled` with a budget sets an effort; `disabled` and `adaptive` leave the model's default. */
function effortOfThinking(value: unknown): string | undefined {
  const type = isObject(value) ? value.type : undefined;
  if (type === 'disabled' || type === 'adaptive') return undefined;
  if (type !== 'enabled' || !isObject(value) || typeof value.budget_tokens !== 'number') throw untranslatable('thinking', 'this thinking configuration');
  const budget = value.budget_tokens;
  return budget < LOW_EFFORT_BELOW ? 'low' : budget < MEDIUM_EFFORT_BELOW ? 'medium' : 'high';
}

const hasEffort = (body: Json): boolean => isObject(body.output_config) && body.output_config.effort !== undefined && body.output_config.effort !== null;

/** `effort` as `reasoning_effort` (it wins over a thinking budget), a JSON schema `format` as `response_format`. */
function outputConfig(value: unknown, chat: Json): void {
  if (!isObject(value)) throw untranslatable('output_config', 'this output configuration');
  for (const [key, setting] of Object.entries(value)) {
    if (setting === null || setting === undefined) continue;
    if (key === 'effort' && typeof setting === 'string' && EFFORTS[setting] !== undefined) chat.reasoning_effort = EFFORTS[setting];
    else if (key === 'format' && isObject(setting) && setting.type === 'json_schema' && isObject(setting.schema)) {
      chat.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: setting.schema, strict: true } };
    } else throw untranslatable(`output_config.${key}`, `this '${key}'`);
  }
}

/** What a client tool may say: the rest (examples, callers) has no chat equivalent. */
const TOOL_FIELDS = new Set(['type', 'name', 'description', 'input_schema', 'strict', 'cache_control', 'eager_input_streaming', 'defer_loading']);

/** A client tool as a function tool; Anthropic's own tools (web search, bash, code execution...) are refused. */
function functionTool(tool: unknown, at: string): Json {
  const t = isObject(tool) ? tool : {};
  if (t.type !== undefined && t.type !== null && t.type !== 'custom') throw untranslatable(`${at}.type`, `the tool type '${String(t.type)}'`);
  const extra = Object.keys(t).find((key) => !TOOL_FIELDS.has(key));
  if (extra !== undefined) throw untranslatable(`${at}.${extra}`, `a tool's '${extra}'`);
  const fn: Json = { name: t.name, parameters: t.input_schema ?? { type: 'object', properties: {} } };
  if (typeof t.description === 'string') fn.description = t.description;
  if (typeof t.strict === 'boolean') fn.strict = t.strict;
  return { type: 'function', function: fn };
}

/** auto, any (`required`), tool (a named function) and none; `disable_parallel_tool_use` as `parallel_tool_calls: false`. */
function toolChoice(value: unknown, chat: Json, hasTools: boolean): void {
  const choice = isObject(value) ? value : {};
  const mapped =
    choice.type === 'auto' ? 'auto' : choice.type === 'any' ? 'required' : choice.type === 'none' ? 'none' : choice.type === 'tool' && typeof choice.name === 'string' ? { type: 'function', function: { name: choice.name } } : undefined;
  if (mapped === undefined) throw untranslatable('tool_choice', 'this tool choice');
  // Chat completions refuses both without tools; with no tool to call, neither changes the answer.
  if (!hasTools) return;
  chat.tool_choice = mapped;
  if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
}
