import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MODEL_KINDS, type CatalogEntryConfig } from '../config/schema.js';
import { ConfigError, formatIssues } from '../config/load.js';
import { pricingSchema, type Pricing } from '../spend/pricing.js';

export type ModelKind = (typeof MODEL_KINDS)[number];

export interface CatalogModel {
  readonly id: string;
  readonly kind: ModelKind;
  readonly ownedBy: string;
  /** The name shown in Anthropic's models list; the id when not given. */
  readonly displayName: string;
  readonly maxImagesPerRequest: number | undefined;
  /** What the model costs; undefined when its price is not known (it is then counted at no cost). */
  readonly pricing: Pricing | undefined;
}

/** The shipped catalog sits at config/models.yaml, two levels above both src/catalog and dist/catalog. */
const DEFAULT_CATALOG_FILE = fileURLToPath(new URL('../../config/models.yaml', import.meta.url));

const catalogFileSchema = z.strictObject({
  models: z.array(
    z.strictObject({
      id: z.string().min(1),
      kind: z.enum(MODEL_KINDS),
      ownedBy: z.string().default('gateway'),
      displayName: z.string().min(1).optional(),
      maxImagesPerRequest: z.number().int().positive().optional(),
      pricing: pricingSchema.optional(),
    }),
  ),
});

export class Catalog {
  private readonly byId: Map<string, CatalogModel>;

  constructor(entries: Iterable<CatalogEntryConfig>) {
    this.byId = new Map();
    // Later entries win, whole (price included), so a gateway config can redefine or price a shipped model.
    for (const entry of entries) {
      this.byId.set(entry.id, {
        id: entry.id,
        kind: entry.kind,
        ownedBy: entry.ownedBy,
        displayName: entry.displayName ?? entry.id,
        maxImagesPerRequest: entry.maxImagesPerRequest,
        pricing: entry.pricing,
      });
    }
  }

  get(id: string): CatalogModel | undefined {
    return this.byId.get(id);
  }

  /** The model a request of `kind` that names none counts as: the first of that kind in the catalog. */
  defaultFor(kind: ModelKind): CatalogModel | undefined {
    for (const model of this.byId.values()) if (model.kind === kind) return model;
    return undefined;
  }

  all(): IterableIterator<CatalogModel> {
    return this.byId.values();
  }
}

export function readCatalogFile(path: string = DEFAULT_CATALOG_FILE): CatalogEntryConfig[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read model catalog ${path}: ${(err as Error).message}`);
  }
  const result = catalogFileSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid model catalog ${path}:\n${formatIssues(result.error.issues)}`);
  return result.data.models;
}
