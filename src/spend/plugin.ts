import type { FastifyInstance } from 'fastify';
import type { Spend } from './spend.js';

/**
 * Budgets on the API's POST requests of this scope: a key whose budget this instance knows to be spent is
 * refused before its body is read, before any other limit is counted; every other request of a key with a
 * budget reserves its estimated cost once its body is parsed. Every response of such a key says what is left.
 */
export function enforceBudgets(app: FastifyInstance, spend: Spend): void {
  app.addHook('onRequest', (request, reply, done) => {
    const client = request.gateway.clientKey;
    if (client === undefined) return done();
    if (request.method !== 'POST') {
      const known = spend.knownRemaining(client.name);
      if (known !== undefined) reply.headers(known);
      return done();
    }
    done(spend.refuseSpent(client));
  });
  // Before the token limits' hook of the same stage: both commands leave in one write to Redis.
  app.addHook('preValidation', (request, reply, done) => {
    if (request.method !== 'POST') return done();
    const promptBytes = request.form === undefined ? (request.rawBody?.length ?? 0) : 0;
    const reserved = spend.reserve(request.gateway, request.body, promptBytes);
    if (reserved === undefined) return done();
    const admitted = reserved.then((headers) => {
      if (headers !== undefined) reply.headers(headers);
    });
    // Handled here too: a request refused by a hook before preHandler never waits for it.
    admitted.catch(() => undefined);
    request.gateway.budgetAdmitted = admitted;
    done();
  });
  // The reservation is waited for only here, after the token limits' adjustment went out beside it.
  app.addHook('preHandler', (request, _reply, done) => {
    const admitted = request.gateway.budgetAdmitted;
    if (admitted === undefined) return done();
    request.gateway.budgetAdmitted = undefined;
    admitted.then(() => done(), done);
  });
}
