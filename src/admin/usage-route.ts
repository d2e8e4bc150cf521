import type { FastifyPluginAsync } from 'fastify';
import { GatewayError } from '../errors.js';
import { teamStoreName } from '../limits/team.js';
import { DAY_MS, dayWindow, MINUTE_MS, minuteWindow } from '../time-windows.js';
import { keyUsageQuery, teamUsageQuery } from './bodies.js';
import { parse } from './errors.js';
import { configTeamRecords } from './views.js';

const unavailable = (): GatewayError =>
  new GatewayError(503, 'server_error', 'Usage counts are kept in Redis, which cannot be reached right now.', { code: 'usage_unavailable' });

/**
 * `GET /admin/usage`: client keys' counts in the current minute and UTC day, every key's or those named in
 * `keys`; `GET /admin/usage/teams`: the same of teams (registered in the admin API's scope, behind its
 * credentials). The console asks for the rows it shows only: each key or team costs a read of Redis.
 */
export const adminUsageRoute: FastifyPluginAsync = async (app) => {
  const windows = (now: number) => ({
    minuteResetsAt: new Date((minuteWindow(now) + 1) * MINUTE_MS).toISOString(),
    dayResetsAt: new Date((dayWindow(now) + 1) * DAY_MS).toISOString(),
  });

  app.get('/admin/usage', async (request) => {
    const { keys: names } = parse(keyUsageQuery, request.query);
    const now = app.services.limiter.now();
    const { keyring, limiter, spend } = app.services;
    const wanted = names === undefined ? undefined : new Set(names);
    const keys = wanted === undefined ? keyring.all() : keyring.all().filter((k) => wanted.has(k.name));
    try {
      const [counts, costs] = await Promise.all([limiter.usage(keys, now), spend.usage(keys.map((k) => k.name))]);
      return { object: 'list', ...windows(now), data: counts.map((usage, i) => ({ ...usage, costUsd: costs[i]! })) };
    } catch {
      throw unavailable();
    }
  });

  app.get('/admin/usage/teams', async (request) => {
    const { teams: names } = parse(teamUsageQuery, request.query);
    const now = app.services.limiter.now();
    const { limiter, spend, keys: registry, config } = app.services;
    const wanted = names === undefined ? undefined : new Set(names);
    const teams = [...configTeamRecords(config), ...registry.teams].filter((t) => wanted === undefined || wanted.has(t.name));
    try {
      const storeNames = teams.map((t) => teamStoreName(t.name));
      const [counts, costs] = await Promise.all([Promise.all(storeNames.map((n) => limiter.store.counts(n, now))), spend.usage(storeNames)]);
      return { object: 'list', ...windows(now), data: teams.map((t, i) => ({ name: t.name, limits: t.limits ?? {}, ...counts[i]!, costUsd: costs[i]! })) };
    } catch {
      throw unavailable();
    }
  });
};
