import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * Node's process metrics (CPU, memory, event loop, GC), collected once per process: they describe the
 * process, not one app, and every collection starts monitors that are never stopped, so gateways built in
 * the same process (as tests do) share one set instead of each starting its own.
 */
export function sharedProcessRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}
