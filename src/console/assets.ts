import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

/** One file of the console, held in memory with its compressed forms (the whole console is a few dozen KiB). */
export interface Asset {
  readonly type: string;
  readonly etag: string;
  readonly identity: Buffer;
  readonly gzip: Buffer;
  readonly br: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Reads the console's files once, at start, and compresses each: serving them is a lookup and a write.
 * (A static-file plugin would stat and stream each file per request; a handful of small files need neither.)
 */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const asset = readAsset(join(dir, name));
    if (asset !== undefined) assets.set(name, asset);
  }
  return assets;
}

/** One file as an asset; undefined for a kind of file the console does not serve. */
export function readAsset(path: string): Asset | undefined {
  const type = TYPES[extname(path)];
  if (type === undefined) return undefined;
  const identity = readFileSync(path);
  return {
    type,
    etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity),
  };
}

/** The best encoding the client accepts, of those held. */
export function pickEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | 'identity' {
  const accepted = (acceptEncoding ?? '').toLowerCase();
  if (/\bbr\b/.test(accepted)) return 'br';
  if (/\bgzip\b/.test(accepted)) return 'gzip';
  return 'identity';
}
