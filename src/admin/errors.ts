import { GatewayError, invalidRequest } from '../errors.js';
import { RecordConflict, RecordNotFound } from '../store/records.js';
import { StoreUnavailable } from '../store/store.js';
import type { z } from 'zod';

/** Turns what the store throws into the admin API's answers. */
export function storeError(err: unknown): unknown {
  if (err instanceof RecordNotFound) return new GatewayError(404, 'invalid_request_error', err.message, { code: `${err.what}_not_found` });
  if (err instanceof RecordConflict) return new GatewayError(409, 'invalid_request_error', err.message, { code: err.code });
  if (err instanceof StoreUnavailable) return new GatewayError(503, 'server_error', err.message, { code: 'store_unavailable' });
  return err;
}

export async function fromStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw storeError(err);
  }
}

export const managedByConfig = (what: string): GatewayError =>
  new GatewayError(409, 'invalid_request_error', `${what} is defined in the gateway config: change it there.`, { code: 'managed_by_config' });

export const nameTaken = (what: string, name: string): GatewayError =>
  new GatewayError(409, 'invalid_request_error', `A ${what} named '${name}' already exists.`, { code: 'name_taken' });

export const notFound = (what: 'key' | 'team', id: string): GatewayError => storeError(new RecordNotFound(what, id)) as GatewayError;

export const nothingToChange = (): GatewayError => invalidRequest('The body names no field to change.', null, 'empty_change');

/** Parses a body or query with `schema`; the first problem is a 400 naming its field in `param`. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  throw invalidRequest(param === null ? issue.message : `${param}: ${issue.message}`, param, 'invalid_value');
}
