// Protocol buffers wire format, the writing half: varints, 32-bit floats and length-delimited
// fields (https://protobuf.dev/programming-guides/encoding/). Only what ONNX files use; the
// package keeps zero runtime dependencies, and these few rules are smaller than any library.
//
// A message is built as a list of byte chunks and its total length, so a nested message (a
// graph inside a model, a weight inside a graph) is framed by its length without copying it:
// the bytes are joined once, at the end.

/** The wire types of a field's tag (the low three bits). */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** The largest field number protobuf allows (2^29 − 1). */
export const MAX_FIELD_NUMBER = 0x1fffffff;

/** An encoded message: its chunks in order and their total length in bytes. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  /** The bytes written so far. */
  length = 0;

  /** An int32/int64/uint64/enum/bool field (wire type 0). Negative values take ten bytes, as protobuf's int64. */
  int(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** A float field (wire type 5, little-endian IEEE 754 single). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.pending.push(x);
    this.length += 4;
    return this;
  }

  /** A string field, UTF-8 (wire type 2). */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A bytes field (wire type 2); the bytes are kept by reference, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  /** An embedded message field (wire type 2). */
  message(field: number, m: ProtoWriter): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(m.length);
    m.flush();
    for (const c of m.chunks) this.push(c);
    return this;
  }

  /** A packed repeated int64 field (wire type 2 around varints), as proto3 writes repeated scalars. */
  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(inner.length);
    inner.flush();
    for (const c of inner.chunks) this.push(c);
    return this;
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(4 * values.length);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat32(4 * i, v, true));
    return this.bytes(field, b);
  }

  /** The message's bytes, joined. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  private tag(field: number, wire: number): void {
    if (!Number.isInteger(field) || field < 1 || field > MAX_FIELD_NUMBER) throw new Error(`protobuf: field number ${field} is out of range`);
    this.varint(field * 8 + wire);
  }

  /** A base-128 varint: seven bits a byte, low first; a negative integer as its 64-bit two's complement. */
  private varint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new Error(`protobuf: ${value} is not an integer that can be written exactly`);
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      for (let i = 0; i < 10; i++) {
        const low = Number(v & 0x7fn);
        v >>= 7n;
        this.pending.push(v === 0n ? low : low | 0x80);
        this.length++;
        if (v === 0n) break;
      }
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.pending.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
      this.length++;
    }
    this.pending.push(v);
    this.length++;
  }

  private push(c: Uint8Array): void {
    this.flush();
    this.chunks.push(c);
    this.length += c.length;
  }

  /** Moves the small pending bytes into a chunk of their own. */
  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.pending = [];
  }
}
