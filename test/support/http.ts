// One HTTP request to an app on loopback (a test file's own, or a server process), as through an
// HTTPS proxy, and its reply; and a request sent in two parts over a raw socket.
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { now, waitFor } from './wait.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as text, gunzipped if it came gzipped. */
  body: string;
  /** The body's bytes as they came over the wire, still encoded. */
  bytes: Buffer;
  startedAt: number;
  endedAt: number;
  ms: number;
}

export interface SendOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** A form, urlencoded here (a string is sent as it is), with its Content-Type. */
  form?: Record<string, string> | string;
  /** Any other body, sent as it is: its Content-Type, if any, goes in `headers`. */
  body?: string | Buffer;
  /** Without one, each request has a connection of its own (and asks to close it). */
  agent?: http.Agent;
  /** The client gives up (and the promise rejects) after this long. */
  timeoutMs?: number;
}

/** One request to the app on loopback, as if through an HTTPS proxy (TRUST_PROXY=1). */
export function send(port: number, options: SendOptions): Promise<Reply> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const { form } = options;
  const body =
    form === undefined || typeof form === 'string' ? (form ?? options.body) : new URLSearchParams(form).toString();
  // As browsers ask, so that compression is on the path of every test.
  const headers: Record<string, string> = {
    'X-Forwarded-Proto': 'https',
    'Accept-Encoding': 'gzip',
    ...(form === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
    ...options.headers,
  };
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
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
        try {
          const text = (res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            bytes: raw,
            startedAt,
            endedAt,
            ms: endedAt - startedAt,
          });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
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

/**
 * A request written over a raw socket but for its last `heldBack` characters, which
 * `finish()` sends; it then waits (up to `withinMs`) for the connection to close or the
 * answer's head to arrive, and gives what came back.
 */
export async function halfSent(
  port: number,
  request: string,
  heldBack: number,
  withinMs: number,
): Promise<{ finish(): Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  const cut = request.length - heldBack;
  socket.write(request.slice(0, cut));
  return {
    async finish() {
      if (!closed) socket.write(request.slice(cut));
      await waitFor('an answer', () => (closed || /\r\n\r\n/.test(received) ? true : undefined), {
        withinMs,
        everyMs: 20,
      }).catch(() => undefined);
      socket.destroy();
      return received || (closed ? '(connection closed without an answer)' : '(no answer)');
    },
  };
}
