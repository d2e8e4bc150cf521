import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '../auth/client-keys.js';
import type { Services } from '../services.js';
import type { ConsoleIdentity } from './sessions.js';

/**
 * Whose token it is: an admin credential (`adminToken`, which is the admin named `admin`), or a gateway key,
 * whose holder sees only their own key. Undefined for anything else.
 */
export function consoleIdentityFor(services: Services, token: string): ConsoleIdentity | undefined {
  const { adminToken } = services.config;
  if (adminToken !== undefined && timingSafeEqual(sha256(token), sha256(adminToken))) return { role: 'admin', name: 'admin' };
  const key = services.keyring.find(token);
  return key === undefined ? undefined : { role: 'key', name: key.name };
}
