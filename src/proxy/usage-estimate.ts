import type { RequestContext } from '../request-context.js';
import { BoundedCount } from './bounded-count.js';
import type { DeltaText } from './delta-text.js';
import type { PromptText } from './prompt-text.js';
import { type CountTokens, encodingFor, tokenCounter } from './tokenizer.js';
import type { Usage } from './usage.js';

// A stream whose client leaves before the upstream's usage arrives is charged an estimate, as the provider
// bills what it generated: the prompt counted with the model's tokenizer, and the completion from the text
// and tool-call deltas delivered to the client. Real usage always wins: the estimate is made only once the
// upstream's usage can no longer come (see app.ts), and never replaces usage that did.

/** Framing tokens of each chat message, and of the reply, as OpenAI's cookbook counts chat prompts. */
export const TOKENS_PER_MESSAGE = 3;
export const REPLY_PRIMING_TOKENS = 3;

/**
 * What a relayed stream's context calls once its client left and no usage came: sets `usage` to the
 * estimate and `usageEstimated`.
 */
export function estimatorFor(context: RequestContext, prompt: PromptText, delivered: DeltaText): () => Promise<void> {
  const known = (): boolean => context.usage !== undefined && !context.usagePartial;
  return async () => {
    if (known()) return;
    const estimate = await estimateUsage(context.model ?? '', prompt, delivered);
    if (known()) return;
    context.usage = context.usage === undefined ? estimate : withEstimatedOutput(context.usage, estimate);
    context.usageEstimated = true;
  };
}

/** The upstream's own input counts (Anthropic's `message_start`), with the output estimated when it is larger. */
function withEstimatedOutput(partial: Usage, estimate: Usage): Usage {
  const completion = Math.max(partial.completion, estimate.completion);
  return { ...partial, completion, total: partial.prompt + completion };
}

export async function estimateUsage(model: string, prompt: PromptText, delivered: DeltaText): Promise<Usage> {
  const count = await tokenCounter(encodingFor(model));
  const promptTokens = countPrompt(count, prompt);
  const { text, keptShare } = delivered.text();
  const completionCount = new BoundedCount(count);
  completionCount.add(text);
  const completion = Math.round(completionCount.total() / keptShare);
  return { prompt: promptTokens, completion, cached: 0, reasoning: 0, total: promptTokens + completion };
}

/** A prompt's tokens, counted with the model's tokenizer: its text, its token ids, and each message's framing. */
export async function promptTokens(model: string, prompt: PromptText): Promise<number> {
  return countPrompt(await tokenCounter(encodingFor(model)), prompt);
}

function countPrompt(count: CountTokens, prompt: PromptText): number {
  const promptCount = new BoundedCount(count);
  for (const part of prompt.parts) promptCount.add(typeof part === 'string' ? part : JSON.stringify(part));
  const framing = prompt.messages === 0 ? 0 : prompt.messages * TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS;
  return promptCount.total() + prompt.tokenIds + framing;
}
