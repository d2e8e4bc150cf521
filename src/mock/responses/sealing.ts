// Encrypted content (reasoning and compaction items) that only the issuing account can open, as
// OpenAI's is: the content carries an HMAC over the account's key, and another key fails it.
import { createHmac } from 'node:crypto';
import { invalidRequest } from '../errors.js';
import { isObject } from '../text.js';
import type { Plan } from '../types.js';

const SEAL_SECRET = 'mock-upstream-sealing';
/** OpenAI's encrypted content is Fernet-like: base64 that starts "gAAAA". */
const PREFIX = 'gAAAAA';

function tag(account: string, payload: string): string {
  return createHmac('sha256', SEAL_SECRET).update(account).update('\n').update(payload).digest('base64url');
}

export function seal(account: string, payload: object): string {
  const p = JSON.stringify(payload);
  return PREFIX + Buffer.from(JSON.stringify({ p, t: tag(account, p) })).toString('base64');
}

/** Whether `sealed` was issued by `account` (false for anything else, garbage included). */
export function opens(account: string, sealed: string): boolean {
  if (!sealed.startsWith(PREFIX)) return false;
  try {
    const box: unknown = JSON.parse(Buffer.from(sealed.slice(PREFIX.length), 'base64').toString('utf8'));
    return isObject(box) && typeof box.p === 'string' && box.t === tag(account, box.p);
  } catch {
    return false;
  }
}

/** OpenAI abbreviates the content in its message: first and last four characters. */
function abbreviate(sealed: string): string {
  return sealed.length <= 8 ? sealed : `${sealed.slice(0, 4)}...${sealed.slice(-4)}`;
}

/** The 400 for the first input item whose `encrypted_content` this account did not issue, if any. */
export function checkSealedItems(account: string, items: readonly unknown[]): Plan | undefined {
  for (const item of items) {
    if (!isObject(item) || typeof item.encrypted_content !== 'string') continue;
    if (opens(account, item.encrypted_content)) continue;
    return invalidRequest(
      `The encrypted content ${abbreviate(item.encrypted_content)} could not be verified.`,
      'invalid_encrypted_content',
    );
  }
  return undefined;
}
