import { randomBytes } from 'node:crypto';
import { sha256 } from '../auth/client-keys.js';

/**
 * Every API key starts with this, so secret scanners can find a leaked one: `aigw-` and 43 URL-safe base64
 * characters (256 random bits). See docs/keys.md.
 */
export const API_KEY_PREFIX = 'aigw-';

export interface NewSecret {
  /** Shown once, in the answer that made it. */
  readonly key: string;
  readonly sha256: string;
  /** Its last 4 characters, to tell keys apart in a list. */
  readonly hint: string;
}

export function newSecret(): NewSecret {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, sha256: sha256(key).toString('hex'), hint: key.slice(-4) };
}

/** An API key's id: random, not secret, and never the name (a name can change). */
export function newKeyId(): string {
  return `key_${randomBytes(12).toString('hex')}`;
}
