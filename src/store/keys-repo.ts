import { UNIQUE_VIOLATION, sqlState, type Engine, type Sql } from './engine.js';
import { changeVersion, iso, json, recordChange } from './changes.js';
import { RecordConflict, RecordNotFound, type KeyFields, type StoredKey } from './records.js';

interface KeyRow {
  id: string;
  name: string;
  team: string | null;
  models: string[] | null;
  limits: StoredKey['limits'];
  metadata: Record<string, unknown> | null;
  expires_at: Date | null;
  key_sha256: string;
  key_hint: string;
  previous_sha256: string | null;
  previous_until: Date | null;
  created_at: Date;
  updated_at: Date;
  revoked_at: Date | null;
}

function toKey(row: KeyRow): StoredKey {
  return {
    id: row.id,
    name: row.name,
    team: row.team,
    models: row.models,
    limits: row.limits,
    expiresAt: iso(row.expires_at),
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    keyHint: row.key_hint,
    revokedAt: iso(row.revoked_at),
    source: 'api',
    keySha256: row.key_sha256,
    previousSha256: row.previous_sha256,
    previousUntil: iso(row.previous_until),
  };
}

const COLUMNS: readonly (keyof KeyFields)[] = ['name', 'team', 'models', 'limits', 'expiresAt', 'metadata'];
const COLUMN: Record<keyof KeyFields, string> = { name: 'name', team: 'team', models: 'models', limits: 'limits', expiresAt: 'expires_at', metadata: 'metadata' };
const JSON_COLUMNS = new Set<keyof KeyFields>(['models', 'limits', 'metadata']);

function nameTaken(name: string): RecordConflict {
  return new RecordConflict('name_taken', `A key named '${name}' already exists.`);
}

/** Checks, inside the write's transaction, that an API team exists; a config team is checked by the caller. */
async function requireTeam(tx: Sql, team: string | null, configTeams: ReadonlySet<string>): Promise<void> {
  if (team === null || configTeams.has(team)) return;
  const rows = await tx.query('SELECT 1 FROM gateway_teams WHERE name = $1 FOR SHARE', [team]);
  if (rows.length === 0) throw new RecordNotFound('team', team);
}

async function lockKey(tx: Sql, id: string): Promise<StoredKey> {
  const [row] = await tx.query<KeyRow>('SELECT * FROM gateway_keys WHERE id = $1 FOR UPDATE', [id]);
  if (row === undefined) throw new RecordNotFound('key', id);
  return toKey(row);
}

/** API keys in the store: each write is one transaction with its audit entry. */
export class KeysRepository {
  constructor(private readonly engine: Engine) {}

  /** The change counter every key or team write bumps. */
  version(): Promise<number> {
    return changeVersion(this.engine);
  }

  async all(): Promise<StoredKey[]> {
    return (await this.engine.query<KeyRow>('SELECT * FROM gateway_keys ORDER BY created_at, id')).map(toKey);
  }

  async create(id: string, fields: KeyFields, secret: { sha256: string; hint: string }, by: string, configTeams: ReadonlySet<string>): Promise<StoredKey> {
    try {
      return await this.engine.transaction(async (tx) => {
        await requireTeam(tx, fields.team, configTeams);
        const [row] = await tx.query<KeyRow>(
          `INSERT INTO gateway_keys (id, name, team, models, limits, metadata, expires_at, key_sha256, key_hint)
           VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9) RETURNING *`,
          [id, fields.name, fields.team, json(fields.models), json(fields.limits), json(fields.metadata), fields.expiresAt, secret.sha256, secret.hint],
        );
        const key = toKey(row!);
        await recordChange(tx, by, 'key.created', id, { ...fields });
        return key;
      });
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) throw nameTaken(fields.name);
      throw err;
    }
  }

  async update(id: string, patch: Partial<KeyFields>, by: string, configTeams: ReadonlySet<string>): Promise<StoredKey> {
    try {
      return await this.engine.transaction(async (tx) => {
        const before = await lockKey(tx, id);
        if (patch.team !== undefined) await requireTeam(tx, patch.team, configTeams);
        const fields = COLUMNS.filter((f) => patch[f] !== undefined);
        const sets = fields.map((f, i) => `${COLUMN[f]} = $${i + 2}${JSON_COLUMNS.has(f) ? '::jsonb' : ''}`);
        const values = fields.map((f) => (JSON_COLUMNS.has(f) ? json(patch[f]) : patch[f]));
        const [row] = await tx.query<KeyRow>(
          `UPDATE gateway_keys SET ${[...sets, 'updated_at = clock_timestamp()'].join(', ')} WHERE id = $1 RETURNING *`,
          [id, ...values],
        );
        const changes = Object.fromEntries(fields.map((f) => [f, { from: before[f], to: patch[f] }]));
        await recordChange(tx, by, 'key.updated', id, changes);
        return toKey(row!);
      });
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION && patch.name !== undefined && patch.name !== null) throw nameTaken(patch.name);
      throw err;
    }
  }

  /** A new secret; the one it replaces keeps working for `graceSeconds`. */
  async rotate(id: string, secret: { sha256: string; hint: string }, graceSeconds: number, by: string): Promise<StoredKey> {
    return this.engine.transaction(async (tx) => {
      const before = await lockKey(tx, id);
      if (before.revokedAt !== null) throw new RecordConflict('key_revoked', `Key '${id}' is revoked: issue a new key instead.`);
      const [row] = await tx.query<KeyRow>(
        `UPDATE gateway_keys SET previous_sha256 = CASE WHEN $4::int > 0 THEN key_sha256 END,
           previous_until = CASE WHEN $4::int > 0 THEN clock_timestamp() + make_interval(secs => $4::int) END,
           key_sha256 = $2, key_hint = $3, updated_at = clock_timestamp()
         WHERE id = $1 RETURNING *`,
        [id, secret.sha256, secret.hint, graceSeconds],
      );
      const key = toKey(row!);
      await recordChange(tx, by, 'key.rotated', id, { graceSeconds, previousValidUntil: key.previousUntil });
      return key;
    });
  }

  async revoke(id: string, by: string): Promise<StoredKey> {
    return this.engine.transaction(async (tx) => {
      const before = await lockKey(tx, id);
      if (before.revokedAt !== null) return before;
      const [row] = await tx.query<KeyRow>(
        'UPDATE gateway_keys SET revoked_at = clock_timestamp(), previous_sha256 = NULL, previous_until = NULL, updated_at = clock_timestamp() WHERE id = $1 RETURNING *',
        [id],
      );
      const key = toKey(row!);
      await recordChange(tx, by, 'key.revoked', id, { name: key.name, revokedAt: key.revokedAt });
      return key;
    });
  }
}
