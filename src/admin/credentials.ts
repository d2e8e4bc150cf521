import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '../auth/client-keys.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';

export interface AdminCredential {
  readonly name: string;
  readonly role: 'admin' | 'viewer';
}

/** Failed attempts a client address may make in a minute before it is refused without a check. */
export const MAX_FAILURES_PER_MINUTE = 10;
const MINUTE_MS = 60_000;
/** Bounds the memory a flood of addresses can take: older windows are dropped past this many. */
const MAX_TRACKED = 10_000;

/** Every credential of the config: `admins[]`, and `adminToken` as an admin named "admin". */
function credentials(config: GatewayConfig): { digest: Buffer; credential: AdminCredential }[] {
  const list = config.admins.map((a) => ({
    digest: a.tokenSha256 !== undefined ? Buffer.from(a.tokenSha256, 'hex') : sha256(a.token ?? ''),
    credential: { name: a.name, role: a.role },
  }));
  if (config.adminToken !== undefined) list.push({ digest: sha256(config.adminToken), credential: { name: 'admin', role: 'admin' } });
  return list;
}

export function adminConfigured(config: GatewayConfig): boolean {
  return config.adminToken !== undefined || config.admins.length > 0;
}

/** Checks admin bearer tokens, refusing a client address that failed too often this minute (429). */
export class AdminGate {
  private readonly failures = new Map<string, { window: number; count: number }>();

  constructor(private readonly now: () => number) {}

  authenticate(config: GatewayConfig, token: string | undefined, address: string): AdminCredential {
    const window = Math.floor(this.now() / MINUTE_MS);
    const seen = this.failures.get(address);
    const count = seen !== undefined && seen.window === window ? seen.count : 0;
    if (count >= MAX_FAILURES_PER_MINUTE) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * MINUTE_MS - this.now()) / 1000));
      throw new GatewayError(429, 'rate_limit_error', 'Too many failed admin authentications from this address; try again later.', {
        code: 'too_many_failed_attempts',
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    const digest = token === undefined ? undefined : sha256(token);
    let found: AdminCredential | undefined;
    // Every credential is compared, so timing does not tell which one (or whether one) matched.
    for (const c of credentials(config)) {
      if (digest !== undefined && timingSafeEqual(c.digest, digest)) found = c.credential;
    }
    if (found !== undefined) return found;
    if (this.failures.size >= MAX_TRACKED) this.failures.clear();
    this.failures.set(address, { window, count: count + 1 });
    throw new GatewayError(401, 'invalid_request_error', 'The admin API needs an admin credential: send "Authorization: Bearer <admin token>".', {
      code: 'invalid_api_key',
    });
  }
}

export function requireWriter(credential: AdminCredential): void {
  if (credential.role !== 'admin') {
    throw new GatewayError(403, 'permission_error', `The credential '${credential.name}' is a viewer: it may read, not change.`, { code: 'forbidden' });
  }
}
