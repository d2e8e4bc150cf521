import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME, ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { RedisClient, RedisCommand } from '../redis/connection.js';
import type { RequestTrace } from './request-trace.js';

/**
 * Wraps a Redis command (as given to `RedisConnection.run`) so that it runs in a span under the request
 * that issued it; a command issued outside any request is returned as it is. The span is named after the
 * client methods the command calls (`redis gatewayLimitAdmit`, `redis get`): never its keys or arguments,
 * which hold conversation ids and key names.
 */
export function redisSpans(tracer: Tracer, activeRequest: () => RequestTrace | undefined): <T>(command: RedisCommand<T>) => RedisCommand<T> {
  return <T>(command: RedisCommand<T>): RedisCommand<T> => {
    const parent = activeRequest();
    if (parent === undefined) return command;
    return (client) => {
      const span = tracer.startSpan('redis', { kind: SpanKind.CLIENT, attributes: { [ATTR_DB_SYSTEM_NAME]: 'redis' } }, parent.context);
      const operations: string[] = [];
      const failed = (err: Error): void => {
        span.setAttribute(ATTR_ERROR_TYPE, err.name);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      };
      let reply: Promise<T>;
      try {
        reply = command(recordingOperations(client, operations));
      } catch (err) {
        failed(err as Error);
        throw err;
      }
      if (operations.length > 0) {
        const operation = operations.join(' ');
        span.updateName(`redis ${operation}`);
        span.setAttribute(ATTR_DB_OPERATION_NAME, operation);
      }
      reply.then(() => span.end(), failed);
      return reply;
    };
  };
}

/** The client, noting the name of each method the command calls on it (methods run on the client itself). */
function recordingOperations(client: RedisClient, operations: string[]): RedisClient {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string') operations.push(property);
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}
