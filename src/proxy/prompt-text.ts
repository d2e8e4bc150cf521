/**
 * The text of a request's prompt, for the estimate of a stream its client left (see usage-estimate.ts).
 * Taken from the parsed body before the body is dropped: the strings themselves (not copies), so a held
 * stream keeps the prompt's text but none of its images, files or JSON; nothing is counted until a client
 * leaves.
 *
 * Counted: `instructions` (Anthropic's `system`); chat `messages` and Responses `input` items (text content and text parts,
 * names, tool calls' names and arguments, tool outputs, reasoning summaries); legacy completions' `prompt`
 * (text, or token ids, counted as they are); and the `tools` and `functions` definitions, as JSON.
 * Not counted: images, audio and files, and the JSON schema of a structured output.
 */
export interface PromptText {
  /** Strings of the prompt, and tool definitions (serialised when counted). */
  readonly parts: readonly (string | object)[];
  /** Chat messages and Responses input items: each costs a few tokens of framing. */
  readonly messages: number;
  /** Token ids sent as the prompt (legacy completions): counted one each. */
  readonly tokenIds: number;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Fields of a message or input item whose strings (or text parts) are prompt text. */
const ITEM_FIELDS = ['content', 'name', 'arguments', 'output', 'summary'] as const;

export function promptText(body: Json): PromptText {
  const parts: (string | object)[] = [];
  let messages = 0;
  let tokenIds = 0;

  const addParts = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) {
      for (const part of value) {
        if (typeof part === 'string') parts.push(part);
        else if (isObject(part) && typeof part.text === 'string') parts.push(part.text);
      }
    }
  };
  const addItem = (item: unknown): void => {
    if (!isObject(item)) return addParts(item);
    messages++;
    for (const field of ITEM_FIELDS) addParts(item[field]);
    const calls = Array.isArray(item.tool_calls) ? item.tool_calls : [];
    for (const call of [...calls, item.function_call]) {
      const fn = isObject(call) && isObject(call.function) ? call.function : call;
      if (isObject(fn)) for (const field of ['name', 'arguments'] as const) addParts(fn[field]);
    }
  };

  addParts(body.instructions);
  addParts(body.system);
  if (Array.isArray(body.messages)) body.messages.forEach(addItem);
  if (typeof body.input === 'string') addItem({ content: body.input });
  else if (Array.isArray(body.input)) body.input.forEach(addItem);
  const prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'number' || Array.isArray(p))) {
    for (const p of prompt) tokenIds += Array.isArray(p) ? p.length : 1;
  } else addParts(prompt);
  for (const tools of [body.tools, body.functions]) if (Array.isArray(tools) && tools.length > 0) parts.push(tools);
  return { parts, messages, tokenIds };
}
