// Anthropic's models list and model object, answered to a client that sends `anthropic-version` (Claude
// Code's gateway model discovery, the Anthropic SDKs).
import { invalidRequest } from '../errors.js';
import type { CatalogModel } from '../catalog/catalog.js';

export interface AnthropicModel {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
}

export interface AnthropicModelPage {
  data: AnthropicModel[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

export function anthropicModel(model: CatalogModel, createdSeconds: number): AnthropicModel {
  return { type: 'model', id: model.id, display_name: model.displayName, created_at: new Date(createdSeconds * 1000).toISOString() };
}

/** One page of `models`, by Anthropic's `limit`, `after_id` and `before_id`. */
export function anthropicModelPage(models: readonly AnthropicModel[], query: Record<string, unknown>): AnthropicModelPage {
  const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalidRequest(`limit: must be an integer from 1 to ${MAX_LIMIT}.`, 'limit');
  let from = 0;
  let to = models.length;
  if (typeof query.after_id === 'string') from = indexOf(models, query.after_id, 'after_id') + 1;
  if (typeof query.before_id === 'string') {
    to = indexOf(models, query.before_id, 'before_id');
    from = Math.max(from, to - limit);
  }
  const data = models.slice(from, Math.min(to, from + limit));
  return { data, has_more: from + data.length < to || (typeof query.before_id === 'string' && from > 0), first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

function indexOf(models: readonly AnthropicModel[], id: string, param: string): number {
  const at = models.findIndex((m) => m.id === id);
  if (at < 0) throw invalidRequest(`${param}: no model '${id}' in this list.`, param);
  return at;
}
