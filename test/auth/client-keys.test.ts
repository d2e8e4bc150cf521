import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerToken, ClientKeyring, mayUseModel } from '../../src/auth/client-keys.js';

describe('client keys', () => {
  const hashed = createHash('sha256').update('hashed-secret').digest('hex');
  const keyring = new ClientKeyring([
    { name: 'plain', key: 'plain-secret', models: ['gpt-4o'] },
    { name: 'hashed', keySha256: hashed },
  ]);

  it('finds plain and hashed keys, and nothing for a wrong key', () => {
    expect(keyring.find('plain-secret')?.name).toBe('plain');
    expect(keyring.find('hashed-secret')?.name).toBe('hashed');
    expect(keyring.find('plain-secret ')).toBeUndefined();
    expect(keyring.find(hashed)).toBeUndefined();
  });

  it('applies the allow-list', () => {
    expect(mayUseModel(keyring.find('plain-secret')!, 'gpt-4o')).toBe(true);
    expect(mayUseModel(keyring.find('plain-secret')!, 'gpt-5')).toBe(false);
    expect(mayUseModel(keyring.find('hashed-secret')!, 'gpt-5')).toBe(true);
  });

  it('reads Bearer tokens in any case and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
