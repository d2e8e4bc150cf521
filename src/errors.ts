/**
 * Errors the gateway itself makes, in OpenAI's envelope so that the official SDKs
 * raise their matching error classes (BadRequestError, AuthenticationError, ...).
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'timeout_error';

export interface ErrorEnvelope {
  error: {
    message: string;
    type: ErrorType;
    param: string | null;
    code: string | null;
  };
}

export class GatewayError extends Error {
  readonly statusCode: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string> | undefined;

  constructor(
    statusCode: number,
    type: ErrorType,
    message: string,
    options: { param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.statusCode = statusCode;
    this.type = type;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers;
  }

  toJSON(): ErrorEnvelope {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null): GatewayError =>
  new GatewayError(400, 'invalid_request_error', message, { param, code });

export const invalidApiKey = (message: string): GatewayError =>
  new GatewayError(401, 'invalid_request_error', message, { code: 'invalid_api_key' });

export const modelNotAllowed = (model: string): GatewayError =>
  new GatewayError(403, 'permission_error', `Your API key is not allowed to use the model '${model}'.`, {
    param: 'model',
    code: 'model_not_allowed',
  });

/** Client-sent text quoted in an error message, cut short so that a huge value is not echoed back. */
export function quoted(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

export const modelNotFound = (model: string): GatewayError =>
  new GatewayError(404, 'invalid_request_error', `The model '${quoted(model)}' does not exist or you do not have access to it.`, {
    param: 'model',
    code: 'model_not_found',
  });

export const badGateway = (message: string): GatewayError =>
  new GatewayError(502, 'server_error', message, { code: 'upstream_unreachable' });

/** The upstream's response broke (a reset, a cut body) before the gateway had all of it. */
export const upstreamResponseFailed = (message: string): GatewayError =>
  new GatewayError(502, 'server_error', message, { code: 'upstream_response_failed' });

export const gatewayTimeout = (message: string): GatewayError =>
  new GatewayError(504, 'timeout_error', message, { code: 'upstream_timeout' });
