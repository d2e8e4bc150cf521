import type { FastifyRequest } from 'fastify';
import { SESSION_TTL_MS } from './sessions.js';

/** The console session's cookie; scoped to `/admin`, where the console and the admin API live. */
export const SESSION_COOKIE = 'gw_console_session';

/** The `Set-Cookie` value that carries (or, with `maxAgeMs` 0, ends) a session. */
export function sessionCookie(id: string, secure: boolean, maxAgeMs = SESSION_TTL_MS): string {
  return `${SESSION_COOKIE}=${id}; Path=/admin; Max-Age=${Math.floor(maxAgeMs / 1_000)}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** One cookie's value from a `Cookie` header (the console sets one cookie; a full parser buys nothing). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** Served over TLS, or behind a proxy that says it terminated TLS. */
export function isHttps(request: FastifyRequest): boolean {
  const forwarded = request.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return proto === 'https' || request.protocol === 'https';
}

/**
 * True when the request's `Origin` is the console's own: the scheme and host the browser reached. A browser
 * always sends `Origin` on a POST, PATCH or DELETE from a page; a forged or missing one is refused, so
 * another site cannot make a signed-in browser change anything.
 */
export function isSameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  const host = request.headers.host;
  if (origin === undefined || host === undefined) return false;
  return origin === `${isHttps(request) ? 'https' : 'http'}://${host}`;
}
