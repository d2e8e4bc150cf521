import type { FastifyPluginAsync } from 'fastify';
import { getHeapStatistics } from 'node:v8';

/** Node's `gc`, present only when the process runs with `--expose-gc`. */
export const forceGc = (globalThis as { gc?: () => void }).gc;

/**
 * `POST /admin/heap`: forces a full garbage collection and answers the process's memory after it, for
 * leak hunting (the soak script, `bench/soak.ts`, reads it). Opt-in twice over: it is registered only in a
 * process started with `--expose-gc`, and only for an admin (a write: a viewer may not). A full collection pauses the process for tens of
 * milliseconds, so nobody else may ask for one.
 */
export const adminHeapRoute: FastifyPluginAsync = async (app) => {
  app.post('/admin/heap', async () => {
    forceGc!();
    const memory = process.memoryUsage();
    const heap = getHeapStatistics();
    return {
      object: 'heap',
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      arrayBuffersBytes: memory.arrayBuffers,
      rssBytes: memory.rss,
      mallocedBytes: heap.malloced_memory,
    };
  });
};
