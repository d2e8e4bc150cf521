import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { mayUseModel } from '../auth/client-keys.js';
import type { Catalog, CatalogModel, ModelKind } from '../catalog/catalog.js';
import { endpointForKind } from './index.js';
import type { JsonObject } from './endpoint.js';
import { GatewayError, invalidRequest, modelNotAllowed, modelNotFound } from '../errors.js';
import type { UpstreamPool, UpstreamRouter } from '../accounts/pool.js';

/** The text fields of a multipart form, one of whose `fileFields` must be a file. */
export function formBody(request: FastifyRequest, fileFields: readonly string[]): JsonObject {
  const form = request.form;
  if (form === undefined) {
    throw new GatewayError(415, 'invalid_request_error', 'Content-Type must be multipart/form-data.', { code: 'unsupported_media_type' });
  }
  if (!form.files.some((name) => fileFields.includes(name))) {
    throw invalidRequest(`The form must carry a file in '${fileFields[0]}'.`, fileFields[0]!, 'missing_file');
  }
  return form.fields;
}

/** The parsed JSON body, which must be an object; an absent body is told apart from a wrong media type. */
export function jsonObjectBody(request: FastifyRequest): JsonObject {
  if (request.form !== undefined) {
    throw new GatewayError(415, 'invalid_request_error', 'Content-Type must be application/json.', { code: 'unsupported_media_type' });
  }
  const body = request.body;
  if (body === undefined || body === null) {
    const type = request.headers['content-type'];
    if (type === undefined || !type.toLowerCase().includes('json')) {
      throw new GatewayError(415, 'invalid_request_error', 'Content-Type must be application/json.', { code: 'unsupported_media_type' });
    }
    throw invalidRequest('The request body is empty; send a JSON object.', null, 'invalid_json');
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  return body as JsonObject;
}

export interface ResolvedModel {
  model: CatalogModel;
  pool: UpstreamPool;
}

/**
 * The model checks, in the documented order: known (404), allowed for the key (403), of the endpoint's
 * kind (400). Body rules come after, so a client learns first about the model it asked for.
 */
export function resolveModel(
  request: FastifyRequest,
  body: JsonObject,
  kinds: readonly ModelKind[],
  catalog: Catalog,
  router: UpstreamRouter,
  modelOptional = false,
): ResolvedModel {
  let id = body.model;
  if ((id === undefined || id === null) && modelOptional) id = catalog.defaultFor(kinds[0]!)?.id;
  if (id === undefined || id === null) throw invalidRequest('You must provide a model parameter.', 'model');
  if (typeof id !== 'string') throw invalidRequest('Invalid type for model: expected a string.', 'model', 'invalid_type');
  const model = catalog.get(id);
  const pool = model === undefined ? undefined : router.poolFor(model.id);
  if (model === undefined || pool === undefined) throw modelNotFound(id);
  request.gateway.model = model.id;
  const client = request.gateway.clientKey;
  if (client !== undefined && !mayUseModel(client, model.id)) throw modelNotAllowed(model.id);
  if (!kinds.includes(model.kind)) {
    const endpoint = endpointForKind(model.kind);
    const hint = endpoint === undefined ? 'this endpoint does not serve it' : `use it with ${endpoint}`;
    throw invalidRequest(`The model '${model.id}' is a ${model.kind} model; ${hint}.`, 'model', 'model_not_supported');
  }
  return { model, pool };
}

/**
 * Checks a body against a schema; the first problem becomes a 400 whose `param` names the field. An array
 * over its maximum is told as OpenAI tells it (`array_above_max_length`).
 */
export function validateBody(schema: z.ZodType, body: JsonObject): void {
  const result = schema.safeParse(body);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const param = formatPath(issue.path);
  if (issue.code === 'too_big' && issue.origin === 'array') throw invalidRequest(`Invalid '${param}': ${issue.message}`, param, 'array_above_max_length');
  throw invalidRequest(`Invalid value for '${param}': ${issue.message}`, param, issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value');
}

/** `messages[0].content[1].image_url.url`, the way SDK users write the field. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
