// A gateway in this process on a PostgreSQL cluster of its own and the mock upstream, with the admin API
// open (test/helpers/admin.ts): what the suites about keys, teams and the ledger start before their tests.
import { afterAll, beforeAll } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { ADMINS } from './admin.js';
import { startGateway, testConfig, type RunningGateway } from './gateway.js';
import { startMockUpstream, type MockUpstream } from './mock-upstream.js';
import { startPostgres, type PostgresServer } from './postgres.js';

export interface GatewayWithPostgres {
  pg: PostgresServer;
  mock: MockUpstream;
  gateway: RunningGateway;
}

/** `overrides` are merged into the test config, which already has `admins` and `database.url`. */
export function useGatewayWithPostgres(overrides: Partial<GatewayConfigInput> = {}): GatewayWithPostgres {
  const running = {} as GatewayWithPostgres;
  beforeAll(async () => {
    [running.pg, running.mock] = await Promise.all([startPostgres(), startMockUpstream()]);
    running.gateway = await startGateway(testConfig(running.mock.url, { admins: ADMINS, database: { url: running.pg.url }, ...overrides }));
  });
  afterAll(async () => {
    await running.gateway?.close();
    await running.mock?.close();
    await running.pg?.remove();
  });
  return running;
}
