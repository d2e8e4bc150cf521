import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { invalidRequest } from '../errors.js';

/**
 * Deepest nesting of arrays and objects a body may have. Real requests stay far below it (a tool's JSON
 * schema included); past it, code that walks the value recursively (`JSON.stringify` among them) would
 * run out of stack, here or upstream.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Accepts only JSON bodies. The raw bytes are kept so the request can be forwarded exactly as sent;
 * bodies that are not UTF-8, that nest deeper than MAX_JSON_DEPTH or that carry prototype-polluting keys
 * (`__proto__`, `constructor.prototype`) are refused with 400 before any code sees them. Every other media
 * type gets Fastify's 415.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.decorateRequest('rawBody', undefined);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    const body = raw as Buffer;
    if (body.length === 0) return done(invalidRequest('The request body is empty; send a JSON object.', null, 'invalid_json'));
    if (!isUtf8(body)) return done(invalidRequest('The request body is not valid UTF-8.', null, 'invalid_json'));
    if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
      return done(invalidRequest(`The JSON body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`, null, 'invalid_json'));
    }
    request.rawBody = body;
    try {
      done(null, secureJson.parse(body.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const detail = err instanceof SyntaxError ? err.message : 'it contains a forbidden key';
      done(invalidRequest(`We could not parse the JSON body of your request: ${detail}.`, null, 'invalid_json'));
    }
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when the brackets of `body` nest deeper than `max`, strings skipped. A linear scan that jumps over
 * string contents with a native search, so large strings (base64 images) cost next to nothing. Bodies that
 * are not JSON at all are left to the parser to refuse.
 */
export function nestsDeeperThan(body: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === QUOTE) {
      i = closingQuote(body, i);
      if (i < 0) return false;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(body: Buffer, open: number): number {
  for (let at = body.indexOf(QUOTE, open + 1); at >= 0; at = body.indexOf(QUOTE, at + 1)) {
    let backslashes = 0;
    while (body[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}
