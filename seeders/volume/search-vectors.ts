// The posts' search vectors for a bulk load, computed beside the COPY instead of in it. The
// posts_search_vector trigger would compute each one inside the single COPY backend, about
// 50 µs a post and most of a million-post load; here a few helper connections run the very
// function the trigger calls, post_search_vector(title, body), on chunks of posts in
// parallel, and the COPY receives finished vectors with the trigger dropped for the load.
// Same function, same vectors: the stored data is what the trigger would have written.
import os from 'node:os';
import pg from 'pg';
import { binaryTextArray } from './binary-copy';
import type { VolumePost } from './generate';

// One helper a core, at least two; more than eight would compute faster than one COPY
// backend takes rows, and each is a connection of its own.
const HELPERS = Math.min(8, Math.max(2, os.availableParallelism()));

// The chunk's vectors come back as one value, each vector in tsvector's binary form behind
// its length: the very bytes of binary COPY fields, ready to go into the posts' rows, with no
// object per vector on our side. Binary rather than text spares the COPY parsing the vectors
// again. Sent as base64 because node-postgres decodes every result field as UTF-8 text, even
// with `binary: true`, which would mangle the binary positions; base64 decodes back to the
// exact bytes, and is a third shorter than bytea's hex. MATERIALIZED: each vector is computed
// once, not once for each of its two mentions.
const VECTORS_SQL = `WITH vectors AS MATERIALIZED (
                       SELECT tsvectorsend(post_search_vector(title, body)) AS vector, n
                         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS chunk (title, body, n))
                     SELECT encode(string_agg(int4send(octet_length(vector)) || vector, ''::bytea ORDER BY n), 'base64')
                       FROM vectors`;

/** The parts of node-postgres's ConnectionParameters (not in its types) that say how to connect. */
interface LiveParameters {
  host?: string;
  port?: number;
  user?: string;
  password?: pg.ClientConfig['password'];
  database?: string;
  ssl?: pg.ClientConfig['ssl'];
  options?: string;
  client_encoding?: string;
  application_name?: string;
}

/**
 * How to open more connections like `client`: the settings it was itself opened with, TLS
 * included. Taken from the live connection rather than DATABASE_URL: src/db/connection.ts
 * made them from the URL, and decided TLS or plain for this very server (sslmode=prefer),
 * so the helpers reach the same server as the same user, the same way. Not its connection
 * timeout: pg.Pool would apply it to chunks waiting for a free helper as well.
 */
export function settingsOf(client: pg.Client): pg.ClientConfig {
  const live = (client as unknown as { connectionParameters?: LiveParameters }).connectionParameters;
  if (!live) throw new Error('The seeder connection does not say how it was opened (is it node-postgres?)');
  return {
    host: live.host,
    port: live.port,
    user: live.user,
    password: live.password,
    database: live.database,
    ssl: live.ssl,
    options: live.options,
    client_encoding: live.client_encoding,
    // The app names its sessions so that a forced shutdown can end them: these too.
    application_name: live.application_name,
  };
}

/** Helper connections computing post_search_vector for chunks of posts, several at a time. */
export class SearchVectors {
  readonly helpers = HELPERS;
  private readonly pool: pg.Pool;

  constructor(client: pg.Client) {
    this.pool = new pg.Pool({ ...settingsOf(client), max: this.helpers, idleTimeoutMillis: 0 });
    // A helper that loses its server fails the query it runs next, and with it the load;
    // an 'error' event left unhandled would end the process first.
    this.pool.on('error', () => undefined);
  }

  /** The posts' vectors, in their order, as binary COPY fields one after another. */
  async of(posts: readonly VolumePost[]): Promise<Buffer> {
    const result = await this.pool.query<[string | null]>({
      text: VECTORS_SQL,
      values: [binaryTextArray(posts.map((post) => post.title)), binaryTextArray(posts.map((post) => post.body))],
      rowMode: 'array',
    });
    return Buffer.from(result.rows[0]?.[0] ?? '', 'base64');
  }

  /** Closes the helpers once their running queries end; chunks still waiting are dropped. */
  async close(): Promise<void> {
    await this.pool.end();
  }
}
