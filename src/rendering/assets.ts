import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler } from 'express';

/** The files served under /static: the stylesheet and the icons. */
export const PUBLIC_DIR = path.resolve(__dirname, '../../public');

/** Where public/ is mounted. */
export const STATIC_PREFIX = '/static';
const HASH_LENGTH = 10;
// A fingerprinted name stands for exactly one content, so browsers and proxies may keep it
// for a year without asking again, not even on reload. That holds in every environment.
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface Asset {
  /** The file's name in public/: site.css. */
  name: string;
  /** The same name with the first characters of its content's SHA-256: site.3f2a9c01bd.css. */
  fingerprinted: string;
  content: Buffer;
  lastModified: string;
}

interface Manifest {
  byName: Map<string, Asset>;
  byFingerprint: Map<string, Asset>;
}

let manifest: Manifest | undefined;

function readAsset(name: string): Asset {
  const file = path.join(PUBLIC_DIR, name);
  const content = fs.readFileSync(file);
  const hash = createHash('sha256').update(content).digest('hex').slice(0, HASH_LENGTH);
  const { name: stem, ext } = path.parse(name);
  return { name, fingerprinted: `${stem}.${hash}${ext}`, content, lastModified: fs.statSync(file).mtime.toUTCString() };
}

/**
 * Every file of public/, read and hashed once, on first use (createApp asks at start-up).
 * The bytes are kept: a fingerprinted URL is answered with the very bytes its hash was
 * computed from, never with a file edited since. After editing public/, restart the app
 * (`npm run dev` restarts by itself on changes under public/).
 */
function assets(): Manifest {
  if (!manifest) {
    const names = fs
      .readdirSync(PUBLIC_DIR, { withFileTypes: true })
      .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
      .map((entry) => entry.name);
    const all = names.map(readAsset);
    manifest = {
      byName: new Map(all.map((asset) => [asset.name, asset])),
      byFingerprint: new Map(all.map((asset) => [asset.fingerprinted, asset])),
    };
  }
  return manifest;
}

/** The fingerprinted URL of a file of public/: assetUrl('site.css') is /static/site.3f2a9c01bd.css. */
export function assetUrl(name: string): string {
  const asset = assets().byName.get(name);
  if (!asset) throw new Error(`public/${name} does not exist`);
  return `${STATIC_PREFIX}/${asset.fingerprinted}`;
}

/**
 * Answers the fingerprinted names of the current files, mounted at /static. Anything else,
 * a plain name or a hash of other content, goes on to express.static, which finds no such
 * file for a stale hash: a 404, never the new bytes cached for a year under the old name.
 */
export function serveFingerprinted(): RequestHandler {
  const { byFingerprint } = assets();
  return (req, res, next) => {
    const asset = req.method === 'GET' || req.method === 'HEAD' ? byFingerprint.get(req.path.slice(1)) : undefined;
    if (!asset) {
      next();
      return;
    }
    // res.send adds the ETag and answers 304 to a conditional request, as express.static would.
    res
      .type(path.extname(asset.name))
      .set({ 'Cache-Control': IMMUTABLE, 'Last-Modified': asset.lastModified })
      .send(asset.content);
  };
}

/**
 * The files under /static: fingerprinted names cached for a year, plain names (links from
 * before) with a short cache, as their content changes under them.
 */
export function staticFiles(options: { production: boolean }): RequestHandler[] {
  return [serveFingerprinted(), express.static(PUBLIC_DIR, { maxAge: options.production ? '1d' : 0, index: false })];
}

// What browsers and home screens ask for by a name of their own, at the site's root, and
// the file of public/ that answers.
const ROOT_FILES: Record<string, string> = {
  '/favicon.ico': 'favicon.ico',
  '/apple-touch-icon.png': 'apple-touch-icon.png',
  '/apple-touch-icon-precomposed.png': 'apple-touch-icon.png',
};
export const ROOT_FILE_PATHS = Object.keys(ROOT_FILES);
// A root name cannot carry a fingerprint: kept a month, then asked again (ETag, Last-Modified).
const A_MONTH = 'public, max-age=2592000';

/** Answers ROOT_FILE_PATHS (GET and HEAD) with their files of public/, cached for a month. */
export function rootFiles(): RequestHandler {
  const { byName } = assets();
  return (req, res) => {
    const asset = byName.get(ROOT_FILES[req.path]!)!;
    res
      .type(path.extname(asset.name))
      .set({ 'Cache-Control': A_MONTH, 'Last-Modified': asset.lastModified })
      .send(asset.content);
  };
}
