import { findAdminCredential } from '../admin/credentials.js';
import { hasExpired } from '../auth/client-keys.js';
import type { Services } from '../services.js';
import type { ConsoleIdentity } from './sessions.js';

/**
 * Whose token it is: an admin credential (an entry of `admins[]` with its role, or `adminToken`, the admin
 * named `admin`), or a gateway key in force, whose holder sees only their own key. Undefined for anything else.
 */
export function consoleIdentityFor(services: Services, token: string): ConsoleIdentity | undefined {
  const admin = findAdminCredential(services.config, token);
  if (admin !== undefined) return { role: admin.role, name: admin.name };
  const key = services.keyring.find(token);
  if (key === undefined || hasExpired(key, Date.now())) return undefined;
  return { role: 'key', name: key.name };
}
