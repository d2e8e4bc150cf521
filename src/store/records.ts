import type { LimitsConfig } from '../config/schema.js';

/** The fields a key is created or changed with; in a change, `null` clears one and absent leaves it. */
export interface KeyFields {
  name: string;
  team: string | null;
  models: string[] | null;
  limits: LimitsConfig | null;
  expiresAt: string | null;
  metadata: Record<string, unknown> | null;
}

/** A gateway key as the admin API shows it: never its secret, never a hash of it. */
export interface KeyRecord extends KeyFields {
  id: string;
  /** null for a config key, as are the others a config does not say. */
  createdAt: string | null;
  updatedAt: string | null;
  keyHint: string | null;
  revokedAt: string | null;
  source: 'api' | 'config';
}

/** A key as the registry needs it to recognise its secrets; stays inside the gateway. */
export interface StoredKey extends KeyRecord {
  keySha256: string;
  /** The secret replaced by a rotation, accepted until `previousUntil`. */
  previousSha256: string | null;
  previousUntil: string | null;
}

export interface TeamRecord {
  name: string;
  models: string[] | null;
  limits: LimitsConfig | null;
  metadata: Record<string, unknown> | null;
  createdAt: string | null;
  updatedAt: string | null;
  source: 'api' | 'config';
}

export type TeamFields = Pick<TeamRecord, 'name' | 'models' | 'limits' | 'metadata'>;

export interface AuditEntry {
  /** Ascending with each entry written; the audit list's cursor is made of it. */
  id: string;
  at: string;
  by: string;
  action: string;
  target: string;
  changes: Record<string, unknown>;
}

export class RecordNotFound extends Error {
  constructor(readonly what: 'key' | 'team', readonly id: string) {
    super(`No ${what} '${id}'.`);
    this.name = 'RecordNotFound';
  }
}

export class RecordConflict extends Error {
  constructor(
    readonly code: 'name_taken' | 'team_not_empty' | 'key_revoked',
    message: string,
  ) {
    super(message);
    this.name = 'RecordConflict';
  }
}
