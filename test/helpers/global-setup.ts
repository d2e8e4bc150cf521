// vitest globalSetup: fail the whole run loudly when redis-server or PostgreSQL is missing. Never skip.
import { spawnSync } from 'node:child_process';
import { POSTGRES_MISSING_MESSAGE, postgresBinDir } from './postgres.js';

export default function setup(): void {
  const res = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    const detail = res.error ? res.error.message : `exit status ${String(res.status)}: ${res.stderr}`;
    throw new Error(
      'redis-server not found on PATH: these tests need a real Redis. ' +
        'Run `bash scripts/ensure-redis.sh` (which `npm test` runs) ' +
        `or install Debian's redis-server package (apt-get install -y redis-server). (${detail})`,
    );
  }
  if (postgresBinDir() === undefined) throw new Error(POSTGRES_MISSING_MESSAGE);
}
