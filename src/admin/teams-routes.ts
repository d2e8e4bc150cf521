import type { FastifyPluginAsync } from 'fastify';
import type { TeamRecord } from '../store/records.js';
import { createTeamBody, listTeamsQuery, patchTeamBody } from './bodies.js';
import { requireWriter } from './credentials.js';
import { fromStore, managedByConfig, nameTaken, notFound, nothingToChange, parse } from './errors.js';
import { pageOf, sortBy } from './paging.js';
import { configKeys, configTeamRecords, keyStatus } from './views.js';

/** Teams are listed by name (config and API teams never share one). */
const teamOrder = (team: TeamRecord): readonly string[] => [team.name];
/** How many member names a listed team shows. */
const MEMBER_NAMES = 10;

/** `/admin/teams`: config teams are listed read-only beside the store's. */
export const teamsRoutes: FastifyPluginAsync = async (app) => {
  const { store, keys: registry } = app.services;
  const all = (): TeamRecord[] => [...configTeamRecords(app.services.config), ...registry.teams];
  const apiTeam = (name: string): string => {
    const team = all().find((t) => t.name === name);
    if (team === undefined) throw notFound('team', name);
    if (team.source === 'config') throw managedByConfig(`Team '${name}'`);
    return name;
  };

  app.post('/admin/teams', async (request, reply) => {
    requireWriter(request.admin);
    const body = parse(createTeamBody, request.body);
    if (app.services.config.teams.some((t) => t.name === body.name)) throw nameTaken('team', body.name);
    const fields = { name: body.name, models: body.models ?? null, limits: body.limits ?? null, metadata: body.metadata ?? null };
    const team = await fromStore(() => store.use((r) => r.teams.create(fields, request.admin.name)));
    await registry.sync(true);
    return reply.code(201).send(team);
  });

  app.get('/admin/teams', async (request) => {
    const query = parse(listTeamsQuery, request.query);
    const found = query.q?.toLowerCase();
    const page = pageOf(sortBy(all(), teamOrder), teamOrder, (t) => found === undefined || t.name.toLowerCase().includes(found), query);
    return { object: 'list', ...page, data: withMembers(page.data) };
  });

  /** Each team with its active keys: how many, and the first names (one pass over the keys in memory). */
  const withMembers = (teams: readonly TeamRecord[]): (TeamRecord & { members: number; memberNames: string[] })[] => {
    const members = new Map(teams.map((t) => [t.name, { members: 0, memberNames: [] as string[] }]));
    const now = Date.now();
    for (const key of [...configKeys(app.services.config), ...registry.keys]) {
      const team = key.team === null ? undefined : members.get(key.team);
      if (team === undefined || keyStatus(key, now) !== 'active') continue;
      team.members++;
      if (team.memberNames.length < MEMBER_NAMES) team.memberNames.push(key.name);
    }
    return teams.map((t) => ({ ...t, ...members.get(t.name)! }));
  };

  app.get<{ Params: { name: string } }>('/admin/teams/:name', async (request) => {
    const team = all().find((t) => t.name === request.params.name);
    if (team === undefined) throw notFound('team', request.params.name);
    return team;
  });

  app.patch<{ Params: { name: string } }>('/admin/teams/:name', async (request) => {
    requireWriter(request.admin);
    const name = apiTeam(request.params.name);
    const patch = parse(patchTeamBody, request.body);
    if (Object.keys(patch).length === 0) throw nothingToChange();
    const team = await fromStore(() => store.use((r) => r.teams.update(name, patch, request.admin.name)));
    await registry.sync(true);
    return team;
  });

  app.delete<{ Params: { name: string } }>('/admin/teams/:name', async (request) => {
    requireWriter(request.admin);
    const name = apiTeam(request.params.name);
    const team = await fromStore(() => store.use((r) => r.teams.delete(name, request.admin.name)));
    await registry.sync(true);
    return team;
  });
};
