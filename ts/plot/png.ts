// A minimal PNG encoder: 8-bit grayscale or RGB, no interlacing, filter type 0 on every row.
// encodePng writes the image data as stored (uncompressed) deflate blocks, which every PNG
// reader accepts and which needs no compressor, so it stays synchronous and dependency-free.
// encodePngCompressed uses the platform's CompressionStream('deflate') (zlib format) where it
// exists, for files a fraction of the size.
import { describe } from '../options.js';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Stored deflate blocks hold at most 65535 bytes each (LEN is 16 bits). */
const STORED_MAX = 65535;

let crcTable: Uint32Array | null = null;

/** CRC-32 (ISO 3309, as PNG chunks use) of bytes. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Adler-32 (the zlib stream checksum) of bytes. */
export function adler32(bytes: Uint8Array): number {
  let a = 1, b = 0;
  // 5552 is the largest run for which the sums cannot overflow 2^32 before the modulo.
  for (let i = 0; i < bytes.length; i += 5552) {
    const end = Math.min(i + 5552, bytes.length);
    for (let j = i; j < end; j++) { a += bytes[j]; b += a; }
    a %= 65521; b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of stored deflate blocks (no compression). */
export function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / STORED_MAX));
  const out = new Uint8Array(2 + blocks * 5 + data.length + 4);
  // CMF 0x78: deflate with a 32 KiB window; FLG 0x01 makes CMF·256+FLG a multiple of 31.
  out[0] = 0x78; out[1] = 0x01;
  let o = 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * STORED_MAX, len = Math.min(STORED_MAX, data.length - start);
    out[o++] = b === blocks - 1 ? 1 : 0; // BFINAL on the last block, BTYPE 00 (stored)
    out[o++] = len & 0xff; out[o++] = len >>> 8;
    out[o++] = ~len & 0xff; out[o++] = (~len >>> 8) & 0xff;
    out.set(data.subarray(start, start + len), o);
    o += len;
  }
  writeU32(out, o, adler32(data));
  return out;
}

/** Encodes 8-bit pixels (row-major; channels 1 = gray, 3 = RGB) as a PNG file, synchronously. */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 1 | 3): Uint8Array {
  return assemble(width, height, channels, zlibStored(scanlines(width, height, pixels, channels)));
}

/**
 * As encodePng, but compressed with CompressionStream('deflate') where the platform has it
 * (browsers, Node 18+); elsewhere falls back to stored blocks.
 */
export async function encodePngCompressed(width: number, height: number, pixels: Uint8Array, channels: 1 | 3): Promise<Uint8Array> {
  const raw = scanlines(width, height, pixels, channels);
  if (typeof CompressionStream !== 'function') return assemble(width, height, channels, zlibStored(raw));
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate'));
  const zlib = new Uint8Array(await new Response(stream).arrayBuffer());
  return assemble(width, height, channels, zlib);
}

/** Rows prefixed by their filter byte (0, none), as the IDAT data wants them before deflate. */
function scanlines(width: number, height: number, pixels: Uint8Array, channels: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new Error(`encodePng: width and height must be positive integers, got ${describe(width)} and ${describe(height)}`);
  }
  if (channels !== 1 && channels !== 3) throw new Error(`encodePng: channels must be 1 (gray) or 3 (RGB), got ${describe(channels)}`);
  if (!(pixels instanceof Uint8Array)) throw new Error(`encodePng: pixels must be a Uint8Array, got ${describe(pixels)}`);
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new Error(`encodePng: a ${width}×${height} image with ${channels} channel(s) needs ${stride * height} bytes, got ${pixels.length}`);
  }
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return raw;
}

function assemble(width: number, height: number, channels: 1 | 3, zlib: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  writeU32(ihdr, 0, width);
  writeU32(ihdr, 4, height);
  ihdr[8] = 8;                          // bit depth
  ihdr[9] = channels === 1 ? 0 : 2;     // colour type: 0 gray, 2 RGB
  // ihdr[10..12]: compression 0 (deflate), filter method 0, interlace 0 (none)
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', zlib), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** length, type, data, CRC over type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  writeU32(out, 0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  writeU32(out, 8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24; out[at + 1] = (v >>> 16) & 0xff; out[at + 2] = (v >>> 8) & 0xff; out[at + 3] = v & 0xff;
}
