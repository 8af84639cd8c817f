// The part of autocannon 8 (no type definitions of its own) that bench/ uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    type Context = Record<string, unknown>;

    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      setupRequest?: (request: Request, context: Context) => Request;
      onResponse?: (status: number, body: string, context: Context, headers: Record<string, string | string[]>) => void;
      /** bench/ tags each request with its kind; autocannon carries it along. */
      [key: string]: unknown;
    }

    /** One connection. Emits response(status, bytes, ms), timeout, connError(error). */
    interface Client extends EventEmitter {
      reqsMade: number;
      /** Responses after which the client stops (checked before each send). */
      responseMax: number | undefined;
      requestIterator: { currentRequest: Request; initialContext: Context; context: Context };
    }

    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      timeout?: number;
      headers?: Record<string, string>;
      requests?: Request[];
      setupClient?: (client: Client) => void;
    }

    interface Instance extends EventEmitter {
      stop(): void;
    }
  }

  function autocannon(
    options: autocannon.Options,
    callback: (error: Error | null, result: { duration: number }) => void,
  ): autocannon.Instance;

  export = autocannon;
}
