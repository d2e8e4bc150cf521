// Which API's error envelope a request is answered in: OpenAI's everywhere, Anthropic's on its paths.
import type { FastifyRequest } from 'fastify';
import type { ErrorEnvelope, GatewayError } from '../errors.js';

/** Anthropic's error envelope (`{"type":"error","error":{"type","message"}}`), which its SDKs raise from. */
export interface AnthropicErrorEnvelope {
  type: 'error';
  error: { type: string; message: string };
}

/** Anthropic's error types for the statuses its API documents. */
const ANTHROPIC_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function anthropicErrorType(status: number): string {
  return ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/**
 * True for Anthropic's API: the Messages paths, and the models list asked for by an Anthropic client (it
 * sends `anthropic-version`, which Claude Code's model discovery does).
 */
export function speaksAnthropic(request: FastifyRequest): boolean {
  const url = request.url;
  if (url.startsWith('/v1/messages')) return true;
  return url.startsWith('/v1/models') && request.headers['anthropic-version'] !== undefined;
}

/** The error as the request's API tells it. */
export function envelopeFor(request: FastifyRequest, error: GatewayError): ErrorEnvelope | AnthropicErrorEnvelope {
  if (!speaksAnthropic(request)) return error.toJSON();
  return { type: 'error', error: { type: anthropicErrorType(error.statusCode), message: error.message } };
}
