import { describe, expect, it } from 'vitest';
import { Catalog, readCatalogFile } from '../../src/catalog/catalog.js';
import { databasePrice } from '../../src/spend/price-database.js';

/** The model lists of the documented contract, copied from its three pages. */
const OPENAI_CHAT = [
  'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-5', 'gpt-5-chat-latest', 'gpt-5-mini',
  'gpt-5-nano', 'gpt-5-codex', 'gpt-5.1', 'gpt-5.1-chat-latest', 'gpt-5.1-codex', 'gpt-5.1-codex-mini',
  'gpt-5.1-codex-max', 'gpt-5.2', 'gpt-5.2-chat-latest', 'gpt-5.2-codex', 'gpt-5.3-codex', 'gpt-5.4', 'gpt-5.4-pro',
  'gpt-5.5', 'chat-latest',
];
const DOUBAO_CHAT = ['Doubao-1.5-pro-32k', 'Doubao-1.5-pro-256k', 'Doubao-1.5-lite-32k', 'Doubao-pro-32k'];

const BEYOND_SEEDS: [string, string][] = [
  ['text-embedding-3-small', 'embedding'],
  ['text-embedding-3-large', 'embedding'],
  ['text-embedding-ada-002', 'embedding'],
  ['gpt-3.5-turbo-instruct', 'completion'],
  ['omni-moderation-latest', 'moderation'],
  ['text-moderation-latest', 'moderation'],
  ['whisper-1', 'transcription'],
  ['gpt-4o-transcribe', 'transcription'],
  ['gpt-4o-mini-transcribe', 'transcription'],
  ['tts-1', 'speech'],
  ['tts-1-hd', 'speech'],
  ['gpt-4o-mini-tts', 'speech'],
];

/** Anthropic's current models, aliases and dated ids. */
const CLAUDE = [
  'claude-opus-4-7',
  'claude-opus-4-6',
  'claude-sonnet-4-6',
  'claude-opus-4-5',
  'claude-opus-4-5-20251101',
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-1',
  'claude-opus-4-1-20250805',
  'claude-opus-4-0',
  'claude-opus-4-20250514',
  'claude-sonnet-4-0',
  'claude-sonnet-4-20250514',
  'claude-3-haiku-20240307',
];

describe('model catalog', () => {
  const shipped = readCatalogFile();

  it('lists every documented model with its kind', () => {
    expect(OPENAI_CHAT).toHaveLength(23);
    const byId = new Map(shipped.map((m) => [m.id, m.kind]));
    for (const id of [...OPENAI_CHAT, ...DOUBAO_CHAT]) expect(byId.get(id), id).toBe('chat');
    expect(byId.get('gpt-image-2')).toBe('image');
    expect(shipped).toHaveLength(23 + 4 + 1 + BEYOND_SEEDS.length + CLAUDE.length);
  });

  it('lists Claude models as messages models owned by anthropic, each priced by the price database', () => {
    const claude = shipped.filter((m) => m.kind === 'messages');
    expect(claude.map((m) => m.id)).toEqual(CLAUDE);
    for (const model of claude) {
      expect(model.ownedBy).toBe('anthropic');
      expect(databasePrice(model.id, 'anthropic'), model.id).not.toBeNull();
    }
  });

  it('ships the models of the endpoints beyond the seeds, each with its kind', () => {
    const byId = new Map(shipped.map((m) => [m.id, m.kind]));
    for (const [id, kind] of BEYOND_SEEDS) expect(byId.get(id), id).toBe(kind);
    const catalog = new Catalog(shipped);
    expect(catalog.defaultFor('moderation')?.id).toBe('omni-moderation-latest');
    expect(catalog.defaultFor('chat')?.id).toBe('gpt-4o');
  });

  it('limits gpt-image-2 to one image per request', () => {
    expect(new Catalog(shipped).get('gpt-image-2')?.maxImagesPerRequest).toBe(1);
  });

  it('takes extra entries from the gateway config, later ones winning', () => {
    const catalog = new Catalog([...shipped, { id: 'my-model', kind: 'chat', ownedBy: 'me' }, { id: 'gpt-4o', kind: 'chat', ownedBy: 'azure' }]);
    expect(catalog.get('my-model')?.kind).toBe('chat');
    expect(catalog.get('gpt-4o')?.ownedBy).toBe('azure');
    expect(catalog.get('unknown')).toBeUndefined();
  });
});
