// What @pydantic/genai-prices itself computes for a usage, rounded to the micro-dollar as the gateway rounds
// a request: the reference the gateway's integer costs are checked against.
import { calcPrice } from '@pydantic/genai-prices';
import type { Usage } from '../../src/proxy/usage.js';

/** The gateway's usage in the database's words: its input tokens include cached, written, image and audio ones. */
function databaseUsage(usage: Usage): Record<string, number> {
  const named: Record<string, number | undefined> = {
    input_tokens: usage.prompt,
    output_tokens: usage.completion,
    cache_read_tokens: usage.cached,
    cache_write_tokens: usage.cacheWrite,
    cache_write_1h_tokens: usage.cacheWrite1h,
    input_image_tokens: usage.imageInput,
    input_audio_tokens: usage.audioInput,
    audio_seconds: usage.seconds,
    input_audio_seconds: usage.seconds,
  };
  return Object.fromEntries(Object.entries(named).filter((e): e is [string, number] => e[1] !== undefined && e[1] > 0));
}

/** The library's price of `usage` on `provider`'s `model`, in micro-dollars. */
export function databaseMicros(usage: Usage, model: string, provider: string): number {
  const result = calcPrice(databaseUsage(usage), model, { providerId: provider });
  if (result === null) throw new Error(`the price database has no ${provider} price for ${model}`);
  return Math.round(result.total_price * 1_000_000);
}

/** The same in dollars, as the gateway reports costs in JSON and metrics. */
export const databaseUsd = (usage: Usage, model: string, provider: string): number => databaseMicros(usage, model, provider) / 1_000_000;
