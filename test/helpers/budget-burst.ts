// A burst of concurrent chat requests against a budget: which were admitted, which the SDK got as
// RateLimitError. Each request names its own client, so a burst can spread over keys and gateways.
import OpenAI from 'openai';

export type RateLimitError = InstanceType<typeof OpenAI.RateLimitError>;

export interface BudgetBurst {
  /** Resolves with how many requests were answered, once every one has ended. */
  readonly settled: Promise<number>;
  /** The refusals, as they arrive (anything else the SDK throws fails the burst). */
  readonly refusals: RateLimitError[];
}

const hello = [{ role: 'user' as const, content: 'hi' }];

/** Sends `count` chats of `max_tokens: 300` on `model` at once, the i-th through `clientFor(i)`. */
export function budgetBurst(count: number, model: string, clientFor: (i: number) => OpenAI): BudgetBurst {
  const refusals: RateLimitError[] = [];
  const answers = Array.from({ length: count }, (_, i) =>
    clientFor(i)
      .chat.completions.create({ model, messages: hello, max_tokens: 300 })
      .then(
        () => 1,
        (error: unknown) => {
          if (!(error instanceof OpenAI.RateLimitError)) throw error;
          refusals.push(error);
          return 0;
        },
      ),
  );
  return { refusals, settled: Promise.all(answers).then((ones) => ones.reduce((a, b) => a + b, 0)) };
}
