import { UNIQUE_VIOLATION, sqlState, type Engine } from './engine.js';
import { json, recordChange } from './changes.js';
import { RecordConflict, RecordNotFound, type TeamFields, type TeamRecord } from './records.js';

interface TeamRow {
  name: string;
  models: string[] | null;
  limits: TeamRecord['limits'];
  metadata: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
}

function toTeam(row: TeamRow): TeamRecord {
  return {
    name: row.name,
    models: row.models,
    limits: row.limits,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    source: 'api',
  };
}

type TeamPatch = Partial<Omit<TeamFields, 'name'>>;
const FIELDS: readonly (keyof TeamPatch)[] = ['models', 'limits', 'metadata'];

/** Teams made through the admin API; config teams never reach the store. */
export class TeamsRepository {
  constructor(private readonly engine: Engine) {}

  async all(): Promise<TeamRecord[]> {
    return (await this.engine.query<TeamRow>('SELECT * FROM gateway_teams ORDER BY name')).map(toTeam);
  }

  async create(fields: TeamFields, by: string): Promise<TeamRecord> {
    try {
      return await this.engine.transaction(async (tx) => {
        const [row] = await tx.query<TeamRow>('INSERT INTO gateway_teams (name, models, limits, metadata) VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb) RETURNING *', [
          fields.name,
          json(fields.models),
          json(fields.limits),
          json(fields.metadata),
        ]);
        await recordChange(tx, by, 'team.created', fields.name, { ...fields });
        return toTeam(row!);
      });
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) throw new RecordConflict('name_taken', `A team named '${fields.name}' already exists.`);
      throw err;
    }
  }

  async update(name: string, patch: TeamPatch, by: string): Promise<TeamRecord> {
    return this.engine.transaction(async (tx) => {
      const [before] = await tx.query<TeamRow>('SELECT * FROM gateway_teams WHERE name = $1 FOR UPDATE', [name]);
      if (before === undefined) throw new RecordNotFound('team', name);
      const fields = FIELDS.filter((f) => patch[f] !== undefined);
      const sets = fields.map((f, i) => `${f} = $${i + 2}::jsonb`);
      const [row] = await tx.query<TeamRow>(`UPDATE gateway_teams SET ${[...sets, 'updated_at = clock_timestamp()'].join(', ')} WHERE name = $1 RETURNING *`, [
        name,
        ...fields.map((f) => json(patch[f])),
      ]);
      await recordChange(tx, by, 'team.updated', name, Object.fromEntries(fields.map((f) => [f, { from: before[f], to: patch[f] }])));
      return toTeam(row!);
    });
  }

  /** Refuses (team_not_empty) while a key that is neither revoked nor expired is in the team. */
  async delete(name: string, by: string): Promise<TeamRecord> {
    return this.engine.transaction(async (tx) => {
      const [row] = await tx.query<TeamRow>('SELECT * FROM gateway_teams WHERE name = $1 FOR UPDATE', [name]);
      if (row === undefined) throw new RecordNotFound('team', name);
      const [active] = await tx.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM gateway_keys WHERE team = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > clock_timestamp())',
        [name],
      );
      if ((active?.n ?? 0) > 0) throw new RecordConflict('team_not_empty', `Team '${name}' still has ${active!.n} active key(s): revoke them or move them to another team first.`);
      await tx.query('DELETE FROM gateway_teams WHERE name = $1', [name]);
      await recordChange(tx, by, 'team.deleted', name, {});
      return toTeam(row);
    });
  }
}
