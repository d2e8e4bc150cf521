import type { FastifyPluginAsync } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import { invalidRequest } from '../errors.js';
import { newKeyId, newSecret } from '../keys/secret.js';
import type { KeyFields, KeyRecord, StoredKey } from '../store/records.js';
import { createKeyBody, listKeysQuery, patchKeyBody, rotateBody } from './bodies.js';
import { requireWriter } from './credentials.js';
import { fromStore, managedByConfig, nameTaken, notFound, nothingToChange, parse } from './errors.js';
import { pageOf, sortBy } from './paging.js';
import { CONFIG_KEY_ID_PREFIX, configKeys, keyStatus, keyView } from './views.js';

/** Keys are listed oldest first (config keys, which have no creation time, before all), then by id; `order=newest` walks it backwards. */
const keyOrder = (key: KeyRecord): readonly string[] => [key.createdAt ?? '', key.id];

/** `/admin/keys`: API keys are read from memory (as requests see them) and written to the store. */
export const keysRoutes: FastifyPluginAsync = async (app) => {
  const { store, keys: registry } = app.services;
  const configTeams = (): ReadonlySet<string> => new Set(app.services.config.teams.map((t) => t.name));
  const configKeyNamed = (name: string): boolean => app.services.config.clientKeys.some((k) => k.name === name);
  const apiKey = (id: string): StoredKey => {
    if (id.startsWith(CONFIG_KEY_ID_PREFIX) && configKeyNamed(id.slice(CONFIG_KEY_ID_PREFIX.length))) throw managedByConfig(`Key '${id}'`);
    const key = registry.keys.find((k) => k.id === id);
    if (key === undefined) throw notFound('key', id);
    return key;
  };

  app.post('/admin/keys', async (request, reply) => {
    requireWriter(request.admin);
    const body = parse(createKeyBody, request.body);
    if (configKeyNamed(body.name)) throw nameTaken('key', body.name);
    const fields: KeyFields = {
      name: body.name,
      team: body.team ?? null,
      models: body.models ?? null,
      limits: body.limits ?? null,
      expiresAt: body.expiresAt ?? null,
      metadata: body.metadata ?? null,
    };
    const secret = newSecret();
    const key = await fromStore(() => store.use((r) => r.keys.create(newKeyId(), fields, secret, request.admin.name, configTeams())));
    await registry.sync(true);
    reply.code(201).header('cache-control', 'no-store');
    return { ...keyView(key, Date.now()), key: secret.key };
  });

  // Every key in list order, sorted again only when the registry's keys or the config changed.
  let sorted: { apiKeys: readonly StoredKey[]; config: GatewayConfig; keys: readonly KeyRecord[] } | undefined;
  const inOrder = (): readonly KeyRecord[] => {
    const { config } = app.services;
    if (sorted?.apiKeys !== registry.keys || sorted.config !== config) {
      sorted = { apiKeys: registry.keys, config, keys: [...sortBy(configKeys(config), keyOrder), ...sortBy([...registry.keys], keyOrder)] };
    }
    return sorted.keys;
  };

  app.get('/admin/keys', async (request) => {
    const { cursor, ...query } = parse(listKeysQuery, request.query);
    if (cursor !== undefined && cursor[0] !== query.order) {
      throw invalidRequest(`cursor: was given for order=${cursor[0]}, not order=${query.order}`, 'cursor', 'invalid_value');
    }
    const now = Date.now();
    const found = query.q === undefined ? undefined : query.q.toLowerCase();
    const matches = (k: KeyRecord): boolean =>
      (query.team === undefined || k.team === query.team) &&
      (query.status === 'all' || keyStatus(k, now) === query.status) &&
      (found === undefined || [k.name, k.team, k.keyHint].some((field) => field?.toLowerCase().includes(found) === true));
    const page = pageOf(inOrder(), keyOrder, matches, { limit: query.limit, cursor: cursor?.slice(1) }, { descending: query.order === 'newest', tag: [query.order] });
    return { object: 'list', ...page, data: page.data.map((k) => keyView(k, now)) };
  });

  app.get<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    const { id } = request.params;
    const fromConfig = configKeys(app.services.config).find((k) => k.id === id);
    const key = fromConfig ?? registry.keys.find((k) => k.id === id);
    if (key === undefined) throw notFound('key', id);
    return keyView(key, Date.now());
  });

  app.patch<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    requireWriter(request.admin);
    const { id } = apiKey(request.params.id);
    const patch = parse(patchKeyBody, request.body);
    if (Object.keys(patch).length === 0) throw nothingToChange();
    if (patch.name !== undefined && configKeyNamed(patch.name)) throw nameTaken('key', patch.name);
    const key = await fromStore(() => store.use((r) => r.keys.update(id, patch, request.admin.name, configTeams())));
    await registry.sync(true);
    return keyView(key, Date.now());
  });

  app.post<{ Params: { id: string } }>('/admin/keys/:id/rotate', async (request, reply) => {
    requireWriter(request.admin);
    const { id } = apiKey(request.params.id);
    const { graceSeconds } = parse(rotateBody, request.body);
    const secret = newSecret();
    const key = await fromStore(() => store.use((r) => r.keys.rotate(id, secret, graceSeconds, request.admin.name)));
    await registry.sync(true);
    reply.header('cache-control', 'no-store');
    return { ...keyView(key, Date.now()), key: secret.key };
  });

  app.delete<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    requireWriter(request.admin);
    const { id } = apiKey(request.params.id);
    const key = await fromStore(() => store.use((r) => r.keys.revoke(id, request.admin.name)));
    await registry.sync(true);
    return keyView(key, Date.now());
  });
};
