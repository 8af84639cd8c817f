// Progress on stderr (stdout is sequelize-cli's): a bar on a terminal, plain lines otherwise.
import cliProgress from 'cli-progress';

const LINE_EVERY_MS = 2000;

export interface Progress {
  advance(rows: number): void;
  note(message: string): void;
  stop(): void;
}

const format = (n: number): string => Math.round(n).toLocaleString('en-US');

class TerminalProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;
  private readonly started = performance.now();
  private done = 0;

  constructor(total: number) {
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: 'volume seed |{bar}| {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 20,
        fps: 5,
        formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? format(value) : String(value)),
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { rate: '0' });
  }

  advance(rows: number): void {
    this.done += rows;
    const seconds = (performance.now() - this.started) / 1000;
    this.bar.update(this.done, { rate: format(this.done / Math.max(seconds, 0.001)) });
  }

  note(message: string): void {
    this.bar.stop();
    process.stderr.write(`${message}\n`);
  }

  stop(): void {
    this.bar.stop();
  }
}

class LineProgress implements Progress {
  private readonly started = performance.now();
  private lastLineAt = this.started;
  private lastTenth = 0;
  private done = 0;

  constructor(private readonly total: number) {}

  advance(rows: number): void {
    this.done += rows;
    const now = performance.now();
    const tenth = Math.floor((this.done / this.total) * 10);
    if (now - this.lastLineAt < LINE_EVERY_MS && tenth === this.lastTenth) return;
    this.lastLineAt = now;
    this.lastTenth = tenth;
    const rate = this.done / Math.max((now - this.started) / 1000, 0.001);
    const left = (this.total - this.done) / rate;
    const percent = Math.floor((this.done / this.total) * 100);
    process.stderr.write(
      `volume seed: ${format(this.done)}/${format(this.total)} rows (${percent}%), ` +
        `${format(rate)} rows/s, ~${left.toFixed(0)} s left\n`,
    );
  }

  note(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  stop(): void {}
}

export function createProgress(totalRows: number): Progress {
  return process.stderr.isTTY ? new TerminalProgress(totalRows) : new LineProgress(totalRows);
}
