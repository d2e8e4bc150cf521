import type { z } from 'zod';
import type { CatalogModel, ModelKind } from '../catalog/catalog.js';
import type { StreamFormat } from '../proxy/stream-formats.js';

export type JsonObject = Record<string, unknown>;

/**
 * One API endpoint the gateway serves, described as data: the generic route (src/routes/api-endpoint.ts)
 * checks, routes and forwards every endpoint the same way, reading only this description. Adding an
 * endpoint is one such object and its body schema.
 */
export interface EndpointDescription {
  /** The path the SDKs call, such as `/v1/chat/completions`; also the `endpoint` label of metrics. */
  readonly path: string;
  /** The path below an upstream pool's base URL, such as `/chat/completions`. */
  readonly upstreamPath: string;
  /**
   * The API family it belongs to when not OpenAI's: `anthropic` answers every error in Anthropic's envelope,
   * takes the client's key from `x-api-key` too, and forwards the request's query string (`?beta=true`).
   */
  readonly api?: 'anthropic';
  /** The model kinds it takes. A model of another kind is refused with 400 `model_not_supported`. */
  readonly kinds: readonly ModelKind[];
  /**
   * Chat models are taken too, by translation (src/translate/, Anthropic's endpoints only): `forward` sends
   * the request to chat completions and rewrites the answer; `count` counts the translated request's tokens here.
   */
  readonly translatesChat?: 'forward' | 'count';
  /** The API's body rules: what it fixes and no more, unknown fields pass through untouched. */
  readonly schema: z.ZodType;
  /**
   * A multipart form rather than JSON (audio and image uploads): the fields are checked as text, and one of
   * `fileFields` must carry a file. The form goes upstream exactly as sent.
   */
  readonly form?: { readonly fileFields: readonly string[] };
  /** `model` may be left out, as OpenAI allows here: the request counts as the catalog's first model of its kind. */
  readonly modelOptional?: boolean;
  /** Rules that depend on the catalog entry of the model (an image model's largest `n`, say). */
  readonly checkModel?: (body: JsonObject, model: CatalogModel) => void;
  /**
   * The API reports a stream's usage only when asked (`stream_options.include_usage`): the gateway asks
   * for it when the client did not, and removes the usage-only chunk the client never asked for.
   */
  readonly asksForStreamUsage?: boolean;
  /** What its stream looks like (where the first token, the finish and the end are); chat's by default. */
  readonly stream?: StreamFormat;
  /**
   * Body fields, in order, that carry a conversation's affinity when no `X-Conversation-Id` is sent; a
   * dotted name (`metadata.user_id`) reads a nested field.
   */
  readonly affinityFields?: readonly string[];
  /**
   * A body field naming a stored response (`previous_response_id`): the request goes to the account that
   * made that response, and nowhere else, as no other account has it.
   */
  readonly responseIdField?: string;
  /** The answer is a response the upstream may store: which account made it is remembered by its id. */
  readonly recordsResponses?: boolean;
}

/** Every model kind an endpoint takes: its own, and chat models when it translates them. */
export function acceptedKinds(endpoint: EndpointDescription): readonly ModelKind[] {
  return endpoint.translatesChat === undefined ? endpoint.kinds : [...endpoint.kinds, 'chat'];
}

/**
 * An operation on one stored response (`/v1/responses/{id}` and its sub-paths), served by the generic route
 * in src/routes/stored-response.ts: no body to check and no model named; the request goes to the account
 * that made the response, and nowhere else, as no other account has it.
 */
export interface StoredResponseEndpoint {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** With `:id`, such as `/v1/responses/:id/cancel`; also the `endpoint` label of metrics. */
  readonly path: string;
  /** Below the pool's base URL, `:id` standing for the (URL-encoded) id. */
  readonly upstreamPath: string;
  /** A background response is streamed again by `GET ...?stream=true`. */
  readonly stream: StreamFormat;
  /** A success removes the response (a delete): its owner is forgotten. */
  readonly forgetsOwner?: boolean;
}

/** An endpoint the gateway answers itself, from the catalog and the caller's allow-list. */
export interface CatalogEndpoint {
  readonly method: 'GET';
  /** Also the `endpoint` label of metrics. */
  readonly path: string;
  /** OpenAI's list of models, or one model object (`:id`). */
  readonly answers: 'model-list' | 'model';
}
