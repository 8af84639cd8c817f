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
      /** Called before each send; the request to send, built from `request`. */
      setupRequest?: (request: Request, context: Context) => Request;
      onResponse?: (status: number, body: string, context: Context, headers: Record<string, string | string[]>) => void;
      /** Anything else is carried along untouched (bench/ tags each request with its kind). */
      [key: string]: unknown;
    }

    /** One connection. Emits response(status, bytes, ms), timeout, connError(error). */
    interface Client extends EventEmitter {
      reqsMade: number;
      /** Responses after which the client stops (checked before each send). */
      responseMax: number | undefined;
      requestIterator: {
        currentRequest: Request;
        /** A deep copy of it becomes `context` at the start of each pass over the requests. */
        initialContext: Context;
        context: Context;
      };
    }

    interface Options {
      url: string;
      connections?: number;
      /** Seconds. */
      duration?: number;
      amount?: number;
      /** Seconds before a request counts as timed out. */
      timeout?: number;
      headers?: Record<string, string>;
      requests?: Request[];
      setupClient?: (client: Client) => void;
    }

    interface Result {
      errors: number;
      timeouts: number;
      duration: number;
    }

    interface Instance extends EventEmitter {
      stop(): void;
    }
  }

  function autocannon(
    options: autocannon.Options,
    callback: (error: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance;

  export = autocannon;
}
