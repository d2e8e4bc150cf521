import { normaliseUsage, type Usage } from './usage.js';

// What a chat completion stream's events say, read from the latin1 text of complete events (one character
// per byte, so string offsets are byte offsets). Each question is one small function, so that another
// endpoint's stream can answer it its own way.
//
// A literal `"usage"` (or `"content"`, `"finish_reason"`, ...) can only be a key, as quotes inside JSON
// strings are escaped. JSON may break lines between tokens, and a multi-line SSE field then continues on a
// new `data:` line: GAP is the whitespace allowed between two tokens, such a line break included.
const GAP = String.raw`(?:[ \t\r\n]|(?<=[\r\n])data:)*`;

/** Where a usage object starts; with `include_usage` on every chunk has a `"usage"` key, mostly `null`. */
const USAGE_OBJECT = new RegExp(`"usage"${GAP}:${GAP}\\{`, 'g');
/** Content, reasoning or a tool call with something in it (the role-only first event has `"content":""`). */
const FIRST_TOKEN = new RegExp(`"(?:content|reasoning_content)"${GAP}:${GAP}"[^"]|"tool_calls"${GAP}:${GAP}\\[${GAP}[^\\]\\s]`);
/** A choice that finished: its `finish_reason` is a string, not `null`. */
const FINISH = new RegExp(`"finish_reason"${GAP}:${GAP}"`);
/** The usage-only chunk: its choices are empty. */
const NO_CHOICES = new RegExp(`"choices"${GAP}:${GAP}\\[${GAP}\\]`);
/** The stream's last event; the space after the colon is optional, as for any SSE field. */
const DONE = /(?:^|[\r\n])data: ?\[DONE\](?:\r\n|\r|\n)/;
/** A line break and the `data:` prefix of a continuation line, inside a multi-line field. */
const CONTINUATION = /(?:\r\n|\r|\n)data: ?/g;

/** True when the events carry the first generated content (text, reasoning or a tool call). */
export function hasFirstToken(text: string): boolean {
  return FIRST_TOKEN.test(text);
}

/** True when the events hold a finish chunk: after it only the usage chunk and `[DONE]` follow. */
export function hasFinish(text: string): boolean {
  return FINISH.test(text);
}

/** True when the events hold the `data: [DONE]` line that ends the stream. */
export function hasDone(text: string): boolean {
  return DONE.test(text);
}

/** True when the event (its text) is the usage-only chunk, which strip mode removes. */
export function isUsageOnly(event: string): boolean {
  return NO_CHOICES.test(event);
}

/** Each usage object in the events, with where it starts, so its event can be found. */
export function* usageObjects(text: string): Generator<{ at: number; usage: Usage }> {
  USAGE_OBJECT.lastIndex = 0;
  for (let match = USAGE_OBJECT.exec(text); match !== null; match = USAGE_OBJECT.exec(text)) {
    const open = match.index + match[0].length - 1;
    const close = objectEnd(text, open);
    if (close < 0) continue;
    USAGE_OBJECT.lastIndex = close;
    try {
      const usage = normaliseUsage(JSON.parse(text.slice(open, close).replace(CONTINUATION, '\n')));
      if (usage !== undefined) yield { at: match.index, usage };
    } catch {
      // Not JSON after all: no usage here.
    }
  }
}

/** Index just past the `}` closing the object that opens at `open`, or -1; braces inside strings do not count. */
function objectEnd(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */) depth++;
    else if (c === 0x7d /* } */ && --depth === 0) return i + 1;
  }
  return -1;
}
