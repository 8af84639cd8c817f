// PostgreSQL's binary COPY format: no text for the server to parse (three timestamps a post
// were most of its COPY time as text), and no escaping on our side. Also its binary array
// format, for query parameters.
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
// timestamptz on the wire: microseconds since 2000-01-01 00:00 UTC, a signed 64-bit integer.
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;
const TEXT_OID = 25;

/** Builds COPY ... (FORMAT binary) data in chunks: header, rows, then the trailer. */
export class BinaryCopyWriter {
  private buffer: Buffer;
  private offset = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  get length(): number {
    return this.offset;
  }

  header(): void {
    this.ensure(19);
    SIGNATURE.copy(this.buffer, this.offset);
    this.offset += SIGNATURE.length;
    this.offset = this.buffer.writeInt32BE(0, this.offset); // flags
    this.offset = this.buffer.writeInt32BE(0, this.offset); // header extension length
  }

  row(fields: number): void {
    this.ensure(2);
    this.offset = this.buffer.writeInt16BE(fields, this.offset);
  }

  int4(value: number): void {
    this.ensure(8);
    this.offset = this.buffer.writeInt32BE(4, this.offset);
    this.offset = this.buffer.writeInt32BE(value, this.offset);
  }

  bool(value: boolean): void {
    this.ensure(5);
    this.offset = this.buffer.writeInt32BE(1, this.offset);
    this.buffer[this.offset++] = value ? 1 : 0;
  }

  text(value: string): void {
    this.ensure(4 + value.length * 3);
    const written = this.buffer.write(value, this.offset + 4, 'utf8');
    this.buffer.writeInt32BE(written, this.offset);
    this.offset += 4 + written;
  }

  /** A timestamptz from milliseconds since the Unix epoch. */
  timestamp(ms: number): void {
    this.ensure(12);
    const micros = (ms - PG_EPOCH_MS) * 1000;
    const high = Math.floor(micros / TWO_32);
    this.offset = this.buffer.writeInt32BE(8, this.offset);
    this.offset = this.buffer.writeInt32BE(high, this.offset);
    this.offset = this.buffer.writeUInt32BE(micros - high * TWO_32, this.offset);
  }

  /** A whole field as another writer (or the server) encoded it: its length, then its bytes. */
  field(encoded: Buffer): void {
    this.ensure(encoded.length);
    this.offset += encoded.copy(this.buffer, this.offset);
  }

  null(): void {
    this.ensure(4);
    this.offset = this.buffer.writeInt32BE(-1, this.offset);
  }

  trailer(): void {
    this.ensure(2);
    this.offset = this.buffer.writeInt16BE(-1, this.offset);
  }

  /** What was written since the last take, as a buffer of its own; the writer starts afresh. */
  take(): Buffer {
    const chunk = Buffer.from(this.buffer.subarray(0, this.offset));
    this.offset = 0;
    return chunk;
  }

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }
}

/**
 * A text[] query parameter in the binary array format: node-postgres sends a Buffer as is,
 * so no array literal is built and escaped here, nor parsed by the server.
 */
export function binaryTextArray(values: readonly string[]): Buffer {
  let size = 20;
  for (const value of values) size += 4 + Buffer.byteLength(value, 'utf8');
  const out = Buffer.allocUnsafe(size);
  let offset = out.writeInt32BE(1, 0); // dimensions
  offset = out.writeInt32BE(0, offset); // no nulls
  offset = out.writeInt32BE(TEXT_OID, offset);
  offset = out.writeInt32BE(values.length, offset);
  offset = out.writeInt32BE(1, offset); // lower bound
  for (const value of values) {
    const written = out.write(value, offset + 4, 'utf8');
    out.writeInt32BE(written, offset);
    offset += 4 + written;
  }
  return out;
}
