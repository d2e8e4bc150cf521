import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { invalidRequest } from '../errors.js';
import { jsonShapeProblem } from './json-scan.js';

/**
 * Accepts only JSON bodies, in the scope it is registered in: the authenticated routes (elsewhere no body
 * is read at all). The raw bytes are kept so the request can be forwarded exactly as sent; bodies that are
 * not UTF-8, that break the shape limits or repeat a key (see `jsonShapeProblem`) or that carry
 * prototype-polluting keys (`__proto__`, `constructor.prototype`) are refused with 400 before any code sees
 * them. Every other media type gets Fastify's 415.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.decorateRequest('rawBody', undefined);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    const body = raw as Buffer;
    if (body.length === 0) return done(invalidRequest('The request body is empty; send a JSON object.', null, 'invalid_json'));
    if (!isUtf8(body)) return done(invalidRequest('The request body is not valid UTF-8.', null, 'invalid_json'));
    const problem = jsonShapeProblem(body);
    if (problem !== undefined) return done(invalidRequest(problem, null, 'invalid_json'));
    request.rawBody = body;
    try {
      done(null, secureJson.parse(body.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const detail = err instanceof SyntaxError ? err.message : 'it contains a forbidden key';
      done(invalidRequest(`We could not parse the JSON body of your request: ${detail}.`, null, 'invalid_json'));
    }
  });
}
