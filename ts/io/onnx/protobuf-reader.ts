// Protocol buffers wire format, the reading half (the writer is protobuf.ts): tags, varints,
// fixed-width numbers and length-delimited fields over bytes from an untrusted file. Like the
// writer it has no dependency: the package keeps zero runtime dependencies, and the few rules a
// reader needs are smaller than a protobuf library and its generated code.
//
// Every length is checked against the bytes that are left before anything is sliced or
// allocated, so no field can make the reader allocate more than the file holds; a field of a
// type this reader does not know is skipped by its length (never descended into), so nesting in
// unknown fields costs nothing, and the messages that are decoded nest only as deep as ONNX's
// schema (six levels).
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from './protobuf.js';

const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;

/** The message of a refusal; `path` names the place in the file ('graph.node[3].attribute[0]'). */
export class ProtoError extends Error {
  constructor(readonly path: string, readonly detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'Error';
  }
}

/** Made on first use: a module that computes nothing when imported can be dropped by bundlers. */
let utf8: TextDecoder | null = null;

/** Reads one message's fields in order: `while (r.next()) switch (r.field) { ... default: r.skip(); }`. */
export class ProtoReader {
  /** The field number of the tag read last. */
  field = 0;
  /** The wire type of the tag read last. */
  wire = 0;
  private pos: number;

  /** A reader of bytes[start, end) of `bytes`; `path` names the message in messages. */
  constructor(private readonly bytes: Uint8Array, start: number, private readonly end: number, readonly path: string) {
    this.pos = start;
  }

  /** Reads the next tag; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const tag = this.varint('a field tag');
    this.field = Math.floor(tag / 8);
    this.wire = tag % 8;
    if (this.field < 1 || this.field > 0x1fffffff) this.fail(`field number ${this.field} is out of range (1 to 2^29 − 1)`);
    return true;
  }

  /** Skips the current field's value, whatever its wire type (groups, deprecated, are refused). */
  skip(): void {
    switch (this.wire) {
      case WIRE_VARINT: this.rawVarint(); return;
      case WIRE_FIXED64: this.take(8); return;
      case WIRE_FIXED32: this.take(4); return;
      case WIRE_LENGTH_DELIMITED: this.take(this.length()); return;
      case WIRE_START_GROUP: case WIRE_END_GROUP:
        this.fail(`field ${this.field} is a group (wire type ${this.wire}), which ONNX does not use`);
      // falls through: fail never returns
      default: this.fail(`field ${this.field} has the unknown wire type ${this.wire}`);
    }
  }

  /** An int32/int64/enum/bool varint as a number: negative int64 values (ten bytes) included; refused beyond ±2^53. */
  int(what: string): number {
    this.expectWire(WIRE_VARINT, what);
    return this.varint(what);
  }

  /** A float field (wire type 5). */
  float(what: string): number {
    this.expectWire(WIRE_FIXED32, what);
    const at = this.take(4);
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + at, 4).getFloat32(0, true);
  }

  /** A length-delimited field's bytes, a view (not a copy). */
  bytesField(what: string): Uint8Array {
    this.expectWire(WIRE_LENGTH_DELIMITED, what);
    const n = this.length();
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }

  /** A string field (UTF-8; invalid sequences become U+FFFD). */
  string(what: string): string { return (utf8 ??= new TextDecoder('utf-8')).decode(this.bytesField(what)); }

  /** An embedded message field: a reader over its bytes, named `path`. */
  message(path: string): ProtoReader {
    this.expectWire(WIRE_LENGTH_DELIMITED, path);
    const n = this.length();
    const at = this.take(n);
    return new ProtoReader(this.bytes, at, at + n, path);
  }

  /**
   * A repeated integer field, packed (one length-delimited run of varints) or not (one varint):
   * its values are appended to `out`, which can hold at most as many values as the file has bytes.
   */
  ints(what: string, out: number[]): void {
    if (this.wire !== WIRE_LENGTH_DELIMITED) { out.push(this.int(what)); return; }
    const n = this.length();
    const end = this.take(n) + n;
    const inner = new ProtoReader(this.bytes, end - n, end, this.path);
    while (inner.pos < end) out.push(inner.varint(what));
  }

  /** A repeated float field, packed or not; appended to `out`. */
  floats(what: string, out: number[]): void {
    if (this.wire !== WIRE_LENGTH_DELIMITED) { out.push(this.float(what)); return; }
    const b = this.bytesField(what);
    if (b.length % 4 !== 0) this.fail(`${what}: a packed float run of ${b.length} bytes, not a multiple of 4`);
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < b.length; i += 4) out.push(view.getFloat32(i, true));
  }

  /** A repeated double field (fixed64), packed or not; appended to `out`. */
  doubles(what: string, out: number[]): void {
    let b: Uint8Array;
    if (this.wire === WIRE_FIXED64) { const at = this.take(8); b = this.bytes.subarray(at, at + 8); }
    else b = this.bytesField(what);
    if (b.length % 8 !== 0) this.fail(`${what}: a packed double run of ${b.length} bytes, not a multiple of 8`);
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < b.length; i += 8) out.push(view.getFloat64(i, true));
  }

  /** Throws a ProtoError naming this message. */
  fail(detail: string): never { throw new ProtoError(this.path, detail); }

  private expectWire(wire: number, what: string): void {
    if (this.wire !== wire) this.fail(`${what} (field ${this.field}) has wire type ${this.wire}, expected ${wire}`);
  }

  /** A length prefix, checked against the bytes left in this message. */
  private length(): number {
    const n = this.varint('a length');
    if (n < 0 || n > this.end - this.pos) {
      this.fail(`field ${this.field} claims ${n} bytes where ${this.end - this.pos} are left`);
    }
    return n;
  }

  /** Advances over n bytes; returns where they start. */
  private take(n: number): number {
    if (n > this.end - this.pos) this.fail(`field ${this.field} needs ${n} bytes where ${this.end - this.pos} are left (the file is cut short?)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** Skips a varint of at most ten bytes. */
  private rawVarint(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`a varint runs past the end of its message (field ${this.field})`);
      if ((this.bytes[this.pos++] & 0x80) === 0) return;
    }
    this.fail(`a varint longer than ten bytes (field ${this.field})`);
  }

  /**
   * A varint read as a signed 64-bit integer (protobuf's int64: a negative value is its two's
   * complement in ten bytes), as a number; refused when it lies beyond ±2^53, where a number
   * would not hold it exactly.
   */
  private varint(what: string): number {
    // Low 28 bits, then the rest, in two numbers: no BigInt on the common path.
    let lo = 0, hi = 0, shift = 0;
    for (let i = 0; ; i++) {
      if (i === 10) this.fail(`${what}: a varint longer than ten bytes`);
      if (this.pos >= this.end) this.fail(`${what}: a varint runs past the end of its message`);
      const b = this.bytes[this.pos++];
      if (i < 4) lo += (b & 0x7f) * 2 ** shift;
      else hi += (b & 0x7f) * 2 ** (shift - 28);
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    // hi holds bits 28 and up (at most 2^36 with the tenth byte's spare bits).
    const hi36 = hi % 2 ** 36;
    if (hi36 < 2 ** 25) return hi36 * 2 ** 28 + lo;   // < 2^53: exact
    if (hi36 >= 2 ** 36 - 2 ** 25) {
      // The top bit of 64 is set: a negative int64, −(2^64 − v), exact when |v| ≤ 2^53.
      const neg = (2 ** 36 - hi36) * 2 ** 28 - lo;
      if (neg <= Number.MAX_SAFE_INTEGER) return -neg;
    }
    return this.fail(`${what}: the integer in field ${this.field} lies beyond ±2^53, where it cannot be held exactly`);
  }
}
