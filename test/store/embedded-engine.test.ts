import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedEngine } from '../../src/store/embedded-engine.js';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';

const MiB = 2 ** 20;

describe('embedded engine (PGlite) memory', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-embedded-memory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Creating the cluster (initdb) in this process grows it by about 600 MiB (still about 380 after a full GC);
  // created in a process of its own and then opened, by 110 to 160 MiB. The bound sits between them with room
  // on both sides: a memory bound, not a measurement (npm run bench:store-memory measures).
  it('creates the cluster on an empty folder without keeping initdb’s memory in this process', async () => {
    const data = path.join(dir, 'first-start');
    const before = process.memoryUsage.rss();
    const engine = await embeddedEngine(data);
    expect((await migrate(engine)).to).toBe(MIGRATIONS.length);
    const growth = process.memoryUsage.rss() - before;
    await engine.close();
    expect(existsSync(path.join(data, 'PG_VERSION'))).toBe(true);
    expect(growth).toBeLessThan(300 * MiB);
  });

  it('runs PostgreSQL with a buffer pool sized for the store, not the server default of 128MB', async () => {
    const engine = await embeddedEngine(path.join(dir, 'first-start'));
    expect(await engine.query('SHOW shared_buffers')).toEqual([{ shared_buffers: '16MB' }]);
    expect((await migrate(engine)).from).toBe(MIGRATIONS.length);
    await engine.close();
  });
});
