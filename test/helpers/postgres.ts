import crypto from 'node:crypto';
import pg from 'pg';
import { clientConfig, parseDatabaseUrl } from '../../src/db/connection.js';

/** `url` with its database name replaced. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
}

/** Runs statements on the server of `url` (CREATE/DROP DATABASE cannot run in a pool transaction). */
export async function onServer(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client(await clientConfig(parseDatabaseUrl(url)));
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

export const quoteIdent = (name: string): string => pg.escapeIdentifier(name);
