import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '../auth/client-keys.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';

export interface AdminCredential {
  readonly name: string;
  readonly role: 'admin' | 'viewer';
}

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

/** The admin credential `token` is, if any. Every credential is compared, so timing does not tell which one (or whether one) matched. */
export function findAdminCredential(config: GatewayConfig, token: string): AdminCredential | undefined {
  const digest = sha256(token);
  let found: AdminCredential | undefined;
  for (const c of credentials(config)) {
    if (timingSafeEqual(c.digest, digest)) found = c.credential;
  }
  return found;
}

export function requireWriter(credential: AdminCredential): void {
  if (credential.role !== 'admin') {
    throw new GatewayError(403, 'permission_error', `The credential '${credential.name}' is a viewer: it may read, not change.`, { code: 'forbidden' });
  }
}
