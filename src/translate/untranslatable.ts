import { type GatewayError, invalidRequest } from '../errors.js';

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The 400 for a part of a Messages request that chat completions cannot carry (docs/anthropic.md, "Translation
 * to chat models"): refused by name, never dropped, as dropping it would change the answer unseen.
 */
export function untranslatable(param: string, what: string): GatewayError {
  return invalidRequest(`Invalid value for '${param}': ${what} cannot be translated to chat completions, which this model is served by.`, param, 'untranslatable');
}
