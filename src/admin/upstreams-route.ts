import type { FastifyPluginAsync } from 'fastify';

/**
 * `GET /admin/upstreams`: every upstream account with its pool, whether it takes requests or is cooling
 * down (why, and until when), and its attempts and failures of the last minutes. Names only: no key, no
 * organization or project value.
 */
export const adminUpstreamsRoute: FastifyPluginAsync = async (app) => {
  app.get('/admin/upstreams', async () => {
    const now = Date.now();
    const data = app.services.router.pools.flatMap((pool) =>
      pool.accounts.map((account) => {
        const cooling = account.coolingUntil > now;
        return {
          pool: pool.name,
          account: account.name,
          available: !cooling,
          reason: cooling ? (account.coolingReason ?? null) : null,
          coolingUntil: cooling ? new Date(account.coolingUntil).toISOString() : null,
          recent: account.recent.totals(now),
        };
      }),
    );
    return { object: 'list', data };
  });
};
