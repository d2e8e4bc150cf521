// When the mock "model" calls a tool, the same on every endpoint that takes tools: a tool the user's text
// names, its arguments from the text, and a text answer once a tool's output comes back (so an agent's loop
// ends after one call).
import { isObject, readContent } from './text.js';

/** What Claude Code adds to the user's turn (environment, skills, dates): not the user's own words. */
const SYSTEM_REMINDER = /<system-reminder>[\s\S]*?<\/system-reminder>/g;

/** The user's own words in a turn's text. */
function ownWords(text: string): string {
  return text.replace(SYSTEM_REMINDER, ' ');
}

/** The first declared tool, in declaration order, whose name the user's text holds as a whole word. */
export function namedTool<T>(tools: readonly T[], nameOf: (tool: T) => unknown, text: string): T | undefined {
  const words = new Set(ownWords(text).split(/[^A-Za-z0-9_-]+/));
  return tools.find((tool) => {
    const name = nameOf(tool);
    return typeof name === 'string' && words.has(name);
  });
}

/**
 * Arguments for a JSON schema's required parameters: the first `backticked` part of the user's text where a
 * string or an array fits ("mock" when there is none), 1 for numbers, false, {}.
 */
export function argumentsFor(parameters: unknown, text: string): Record<string, unknown> {
  const quoted = /`([^`]+)`/.exec(ownWords(text))?.[1];
  const props = isObject(parameters) && isObject(parameters.properties) ? parameters.properties : {};
  const required = isObject(parameters) && Array.isArray(parameters.required) ? parameters.required : [];
  const args: Record<string, unknown> = {};
  for (const name of required) {
    if (typeof name !== 'string') continue;
    const schema = props[name];
    const type = isObject(schema) ? schema.type : undefined;
    if (type === 'array') args[name] = quoted === undefined ? [] : quoted.split(/\s+/);
    else if (type === 'integer' || type === 'number') args[name] = 1;
    else if (type === 'boolean') args[name] = false;
    else if (type === 'object') args[name] = {};
    else args[name] = quoted ?? 'mock';
  }
  return args;
}

/** The conversation without the system messages that end it (instructions added after the last turn). */
export function withoutTrailingSystem(messages: readonly unknown[]): unknown[] {
  let end = messages.length;
  while (end > 0 && isObject(messages[end - 1]) && (messages[end - 1] as { role?: unknown }).role === 'system') end--;
  return messages.slice(0, end);
}

/** The text answer to tool outputs: "Tool output: " and their text (reminders left out), joined by spaces. */
export function toolOutputReply(outputs: readonly unknown[]): string {
  return `Tool output: ${outputs.map((output) => ownWords(readContent(output).text).trim()).join(' ')}`;
}
