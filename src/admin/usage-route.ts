import type { FastifyPluginAsync } from 'fastify';
import { GatewayError } from '../errors.js';
import { DAY_MS, dayWindow, MINUTE_MS, minuteWindow } from '../time-windows.js';

/**
 * `GET /admin/usage`: every client key's counts in the current minute and UTC day (registered in the admin
 * API's scope, behind its credentials).
 */
export const adminUsageRoute: FastifyPluginAsync = async (app) => {
  app.get('/admin/usage', async () => {
    const now = app.services.limiter.now();
    const { keyring, limiter, spend } = app.services;
    let data;
    try {
      const keys = keyring.all();
      const [counts, costs] = await Promise.all([limiter.usage(keys, now), spend.usage(keys.map((k) => k.name))]);
      data = counts.map((usage, i) => ({ ...usage, costUsd: costs[i]! }));
    } catch {
      throw new GatewayError(503, 'server_error', 'Usage counts are kept in Redis, which cannot be reached right now.', { code: 'usage_unavailable' });
    }
    return {
      object: 'list',
      minuteResetsAt: new Date((minuteWindow(now) + 1) * MINUTE_MS).toISOString(),
      dayResetsAt: new Date((dayWindow(now) + 1) * DAY_MS).toISOString(),
      data,
    };
  });
};
