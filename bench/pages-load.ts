// One bounded autocannon load on loopback, every answer counted here by kind of request:
// autocannon's own histogram keeps only 2xx latencies, and a write answers 303.
import autocannon from 'autocannon';
import { FORWARDED_HEADERS } from './app.js';
import { percentile } from './support.js';

// How long a request may take before it counts as timed out.
const REQUEST_TIMEOUT_S = 10;

export interface KindFigures {
  responses: number;
  /** Responses per second over the whole run. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses by status code. */
  statuses: Map<number, number>;
  /** Responses with a status other than the expected one. */
  unexpected: number;
  /** Connection errors while a request of this kind was in flight. */
  errors: number;
  timeouts: number;
}

export interface LoadOptions {
  origin: string;
  connections: number;
  durationS: number;
  /** The requests each connection repeats, each tagged with `kind`. */
  requests: autocannon.Request[];
  /** Whether `status` is the answer a request of `kind` must get. */
  expected: (kind: string, status: number) => boolean;
  /** Called with each connection and its number (0, 1, …) before it starts. */
  setupClient?: (client: autocannon.Client, index: number) => void;
  /** Aborting stops the load at once. */
  signal?: AbortSignal;
}

/** What autocannon's request iterator also has (not in bench/autocannon.d.ts). */
type Rebuildable = autocannon.Client['requestIterator'] & { rebuildRequest(): void };

interface Tally {
  latenciesMs: number[];
  statuses: Map<number, number>;
  unexpected: number;
  errors: number;
  timeouts: number;
}

/** Runs the load for `durationS` seconds; the figures by kind of request. */
export function runLoad(options: LoadOptions): Promise<Map<string, KindFigures>> {
  const tallies = new Map<string, Tally>();
  const tally = (kind: string): Tally => {
    let found = tallies.get(kind);
    if (!found) {
      found = { latenciesMs: [], statuses: new Map(), unexpected: 0, errors: 0, timeouts: 0 };
      tallies.set(kind, found);
    }
    return found;
  };
  let clients = 0;

  const setupClient = (client: autocannon.Client): void => {
    if (options.setupClient) {
      options.setupClient(client, clients++);
      // autocannon built the first request with the client, before setupClient gave it its
      // context, and sends it as built: build it again with that context.
      (client.requestIterator as Rebuildable).rebuildRequest();
    }
    const kindOf = (): string => (client.requestIterator.currentRequest.kind as string | undefined) ?? 'request';
    // Listeners run before the client sends its next request: currentRequest is the one answered.
    client.on('response', (status: number, _bytes: number, ms: number) => {
      const kind = kindOf();
      const counted = tally(kind);
      counted.latenciesMs.push(ms);
      counted.statuses.set(status, (counted.statuses.get(status) ?? 0) + 1);
      if (!options.expected(kind, status)) counted.unexpected++;
    });
    client.on('timeout', () => tally(kindOf()).timeouts++);
    client.on('connError', () => tally(kindOf()).errors++);
  };

  return new Promise((resolve, reject) => {
    const abort = (): void => instance.stop();
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        duration: options.durationS,
        timeout: REQUEST_TIMEOUT_S,
        headers: { ...FORWARDED_HEADERS },
        requests: options.requests,
        setupClient,
      },
      (error, result) => {
        options.signal?.removeEventListener('abort', abort);
        if (error) return reject(error);
        if (options.signal?.aborted) return reject(new Error('the load was interrupted'));
        // autocannon's own measure of the run, in seconds.
        const seconds = result.duration;
        const figures = new Map<string, KindFigures>();
        for (const [kind, counted] of tallies) {
          const sorted = counted.latenciesMs.sort((a, b) => a - b);
          figures.set(kind, {
            responses: sorted.length,
            perSecond: sorted.length / seconds,
            p50Ms: percentile(sorted, 50),
            p99Ms: percentile(sorted, 99),
            statuses: counted.statuses,
            unexpected: counted.unexpected,
            errors: counted.errors,
            timeouts: counted.timeouts,
          });
        }
        resolve(figures);
      },
    );
    options.signal?.addEventListener('abort', abort, { once: true });
  });
}

/** Errors, timeouts and unexpected statuses together: what makes a figure worthless. */
export function badAnswers(figures: KindFigures | undefined): number {
  return figures ? figures.unexpected + figures.errors + figures.timeouts : 0;
}

/** Statuses other than the expected ones, e.g. "404 ×120, 500 ×2". */
export function unexpectedStatuses(figures: KindFigures, expected: (status: number) => boolean): string {
  return [...figures.statuses]
    .filter(([status]) => !expected(status))
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status} ×${count}`)
    .join(', ');
}
