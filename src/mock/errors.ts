// OpenAI-shaped error bodies and the canned pages the mock answers with.
import type { Plan } from './types.js';

export const JSON_TYPE = 'application/json';

const BAD_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your " +
  'HTTP library correctly. The OpenAI Python library should send the correct JSON.)';
export const NO_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using " +
  'Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from ' +
  'https://platform.openai.com/account/api-keys.';
/** Looks like JSON to a sniffing client but is not: what a broken proxy might send. */
export const INVALID_JSON_BODY = '{"id":"chatcmpl-mock","object":"chat.completion","choices":[{';

export function errorBody(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

export const json = (status: number, body: string): Plan => ({ kind: 'json', status, body });

/** 400 `invalid_request_error` with the given code and param. */
export function invalidRequest(message: string, code: string | null = null, param: string | null = null): Plan {
  return json(400, errorBody(message, 'invalid_request_error', code, param));
}

export function missingParam(name: string): Plan {
  return invalidRequest(`Missing required parameter: '${name}'.`, 'missing_required_parameter', name);
}

/** 400 for a body that is not a JSON object, worded like OpenAI's. */
export function badBody(body: unknown): Plan {
  return invalidRequest(body === undefined ? BAD_JSON_MESSAGE : 'The request body must be a JSON object.');
}

export function notFound(message: string): Plan {
  return json(404, errorBody(message, 'invalid_request_error', null));
}

/** Anthropic's error envelope, as the Messages API answers. */
export function anthropicError(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

/** Anthropic's error type for a status, as its API documents them. */
function anthropicErrorType(status: number): string {
  const types: Record<number, string> = { 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 529: 'overloaded_error' };
  return types[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** Default bodies for `status` faults, shaped like OpenAI's (or Anthropic's, on its paths) for the common statuses. */
export function faultStatusBody(status: number, anthropic = false): string {
  if (anthropic) return anthropicError(anthropicErrorType(status), status === 529 ? 'Overloaded' : `Mock upstream error ${status}.`);
  if (status === 429) {
    return errorBody('Rate limit reached for requests (mock).', 'requests', 'rate_limit_exceeded');
  }
  if (status === 401) return errorBody('Incorrect API key provided (mock).', 'invalid_request_error', 'invalid_api_key');
  if (status >= 500) {
    return errorBody('The server had an error while processing your request (mock).', 'server_error', null);
  }
  return errorBody(`Mock upstream error ${status}.`, 'invalid_request_error', null);
}

export function htmlPage(status: number): string {
  const title = status === 502 ? '502 Bad Gateway' : `${status} Error`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}
export const HTML_502 = htmlPage(502);

/** Tells a planned answer (usually an error) from the value a reader returns when all is well. */
export function isPlan(v: unknown): v is Plan {
  if (typeof v !== 'object' || v === null || !('kind' in v)) return false;
  return v.kind === 'json' || v.kind === 'stream';
}
