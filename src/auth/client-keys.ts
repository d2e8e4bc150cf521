import { hash, timingSafeEqual } from 'node:crypto';
import type { ClientKeyConfig } from '../config/schema.js';

export interface ClientKey {
  readonly name: string;
  /** undefined means every model in the catalog. */
  readonly allowedModels: ReadonlySet<string> | undefined;
  readonly config: ClientKeyConfig;
}

/** The identity used when the gateway runs with `allowUnauthenticated: true` and no key is sent. */
export const ANONYMOUS: ClientKey = { name: 'anonymous', allowedModels: undefined, config: { name: 'anonymous' } };

/** One-shot: about half the cost of a Hash object, and it runs for every request's key. */
export function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

interface StoredKey {
  readonly digest: Buffer;
  readonly client: ClientKey;
}

/**
 * Looks client keys up by their SHA-256, so plain and hashed (`keySha256`) keys are handled alike and the
 * comparison runs in constant time whatever the presented key.
 */
export class ClientKeyring {
  private readonly keys: StoredKey[];

  constructor(configs: readonly ClientKeyConfig[]) {
    this.keys = configs.map((config) => ({
      digest: config.keySha256 !== undefined ? Buffer.from(config.keySha256, 'hex') : sha256(config.key ?? ''),
      client: {
        name: config.name,
        allowedModels: config.models ? new Set(config.models) : undefined,
        config,
      },
    }));
  }

  get size(): number {
    return this.keys.length;
  }

  find(presented: string): ClientKey | undefined {
    const digest = sha256(presented);
    let found: ClientKey | undefined;
    // No early exit: every stored key is compared, so timing says nothing about which one matched.
    for (const key of this.keys) {
      if (timingSafeEqual(key.digest, digest)) found = key.client;
    }
    return found;
  }

  all(): ClientKey[] {
    return this.keys.map((k) => k.client);
  }
}

export function mayUseModel(client: ClientKey, model: string): boolean {
  return client.allowedModels === undefined || client.allowedModels.has(model);
}

/** Extracts the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8) return undefined;
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}
