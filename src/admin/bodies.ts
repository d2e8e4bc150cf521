import { z } from 'zod';
import { limitsSchema, nameSchema } from '../config/schema.js';
import { MAX_PAGE, pageQuery } from './paging.js';

/** Longest grace a rotation may give the old secret: 7 days. */
export const MAX_GRACE_SECONDS = 7 * 24 * 60 * 60;

const models = z.array(z.string().min(1).max(200)).max(1_000);
const metadata = z.record(z.string().max(200), z.unknown());
const expiresAt = z.iso.datetime({ offset: true }).refine((at) => Date.parse(at) > Date.now(), 'must be in the future');

export const createKeyBody = z.strictObject({
  name: nameSchema,
  team: nameSchema.nullish(),
  models: models.nullish(),
  limits: limitsSchema.nullish(),
  expiresAt: expiresAt.nullish(),
  metadata: metadata.nullish(),
});

/** In a change, `null` clears a field and an absent field stays as it is. */
export const patchKeyBody = z.strictObject({
  name: nameSchema.optional(),
  team: nameSchema.nullable().optional(),
  models: models.nullable().optional(),
  limits: limitsSchema.nullable().optional(),
  expiresAt: expiresAt.nullable().optional(),
  metadata: metadata.nullable().optional(),
});

export const rotateBody = z.strictObject({ graceSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(0) });

export const createTeamBody = z.strictObject({
  name: nameSchema,
  models: models.nullish(),
  limits: limitsSchema.nullish(),
  metadata: metadata.nullish(),
});

export const patchTeamBody = createTeamBody.omit({ name: true }).extend({
  models: models.nullable().optional(),
  limits: limitsSchema.nullable().optional(),
  metadata: metadata.nullable().optional(),
});

export const KEY_STATUSES = ['active', 'revoked', 'expired', 'all'] as const;
export const KEY_ORDERS = ['oldest', 'newest'] as const;
/** A search: a substring to find, any case (`q=`). */
const search = z.string().min(1).max(200).optional();
/** A keys cursor holds the order it was made for, then the sort key: `[order, createdAt, id]`. */
export const listKeysQuery = pageQuery(3).extend({
  team: z.string().optional(),
  status: z.enum(KEY_STATUSES).default('active'),
  order: z.enum(KEY_ORDERS).default('oldest'),
  q: search,
});
export const listTeamsQuery = pageQuery(1).extend({ q: search });

export const auditQuery = pageQuery(1).extend({
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

/** Names of keys or teams, comma-separated: `a,b,c` (names hold no comma). */
const names = z
  .string()
  .transform((list) => list.split(','))
  .pipe(z.array(nameSchema).min(1).max(MAX_PAGE));

export const keyUsageQuery = z.object({ keys: names.optional() });
export const lastUsedQuery = z.object({ keys: names });
export const teamUsageQuery = z.object({ teams: names.optional() });

const day = z.iso.date();
/** Most groups a summary or a series names one by one (the rest are summed as the others). */
export const MAX_TOP = 100;
export const usageSummaryQuery = z.object({ from: day, to: day, top: z.coerce.number().int().min(1).max(MAX_TOP).default(10) });
export const usageSeriesQuery = usageSummaryQuery.extend({ groupBy: z.enum(['key', 'team', 'model']).default('key'), top: z.coerce.number().int().min(1).max(MAX_TOP).default(8) });
export const usageQuery = z.object({
  from: day,
  to: day,
  groupBy: z.enum(['key', 'team', 'model', 'key,model']).default('key,model'),
  format: z.enum(['json', 'csv']).default('json'),
  keys: names.optional(),
});
