// One HTTP request to a server process on loopback (as through an HTTPS proxy), and its reply.
import http from 'node:http';
import zlib from 'node:zlib';
import { now } from './wait.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  startedAt: number;
  endedAt: number;
  ms: number;
}

export interface SendOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  form?: Record<string, string>;
  /** Without one, each request has a connection of its own (and asks to close it). */
  agent?: http.Agent;
  /** The client gives up (and the promise rejects) after this long. */
  timeoutMs?: number;
}

/** One request to the app on loopback, as if through an HTTPS proxy (TRUST_PROXY=1). */
export function send(port: number, options: SendOptions): Promise<Reply> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  // As browsers ask, so that compression is on the path of every test.
  const headers: Record<string, string> = {
    'X-Forwarded-Proto': 'https',
    'Accept-Encoding': 'gzip',
    ...options.headers,
  };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const startedAt = now();
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: options.method ?? 'GET',
      path: options.path,
      headers,
      agent: options.agent ?? false,
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${options.method ?? 'GET'} ${options.path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const endedAt = now();
        const raw = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: (res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8'),
          startedAt,
          endedAt,
          ms: endedAt - startedAt,
        });
      });
    });
    req.end(body);
  });
}

/** The id in a `Location: /posts/<id>` header, or undefined. */
export function postIdIn(reply: Reply): number | undefined {
  const match = /^\/posts\/(\d+)$/.exec(String(reply.headers.location ?? ''));
  return match?.[1] ? Number(match[1]) : undefined;
}
