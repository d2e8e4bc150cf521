import { anthropicErrorType } from '../server/error-envelope.js';
import { isObject } from './untranslatable.js';

/**
 * A chat upstream's error answer (OpenAI's envelope, a JSON object) in Anthropic's, with the type its status
 * has there, so the Anthropic SDKs raise their usual class; the message is the upstream's.
 */
export function anthropicErrorBody(status: number, body: string): string {
  let message = `The upstream returned ${status}.`;
  try {
    const parsed: unknown = JSON.parse(body);
    const error = isObject(parsed) ? parsed.error : undefined;
    if (isObject(error) && typeof error.message === 'string') message = error.message;
    else if (typeof error === 'string') message = error;
  } catch {
    // Not JSON: the message above.
  }
  return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message } });
}
