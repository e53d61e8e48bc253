// Pixels for the PNG pictures: min–max normalisation to 8-bit gray, and a small RGB canvas that
// can fill rectangles, paste scaled gray or colour tiles and print captions in a bitmap font.
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

export type Rgb = readonly [number, number, number];

/**
 * Maps values to 0..255 with the smallest value black and the largest white. A constant input
 * (a dead feature map, a blank image) becomes black rather than dividing by zero.
 */
export function normalizeToGray(values: ArrayLike<number>, what: string): Uint8Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new Error(`${what}: value ${i} is ${v}; pictures need finite values`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Uint8Array(values.length);
  const range = hi - lo;
  if (!(range > 0)) return out;
  for (let i = 0; i < values.length; i++) out[i] = Math.round(((values[i] - lo) / range) * 255);
  return out;
}

/** As normalizeToGray over the three planes of a CHW colour image together, interleaved as RGB. */
export function normalizeToRgb(chw: ArrayLike<number>, height: number, width: number, what: string): Uint8Array {
  const gray = normalizeToGray(chw, what);
  const plane = height * width, out = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = gray[c * plane + i];
  return out;
}

export class RgbCanvas {
  readonly pixels: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  /** Fills a rectangle, clipped to the canvas. */
  fill(x: number, y: number, w: number, h: number, colour: Rgb): void {
    const x0 = Math.max(0, x), y0 = Math.max(0, y), x1 = Math.min(this.width, x + w), y1 = Math.min(this.height, y + h);
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) this.pixels.set(colour, (yy * this.width + xx) * 3);
    }
  }

  /** A rectangle outline `thickness` pixels wide, drawn inside (x, y, w, h). */
  frame(x: number, y: number, w: number, h: number, thickness: number, colour: Rgb): void {
    this.fill(x, y, w, thickness, colour);
    this.fill(x, y + h - thickness, w, thickness, colour);
    this.fill(x, y, thickness, h, colour);
    this.fill(x + w - thickness, y, thickness, h, colour);
  }

  /** Pastes a gray (channels 1) or RGB (channels 3) tile, each source pixel as a scale×scale square. */
  paste(x: number, y: number, tile: Uint8Array, tileWidth: number, tileHeight: number, channels: 1 | 3, scale: number): void {
    for (let ty = 0; ty < tileHeight * scale; ty++) {
      const cy = y + ty;
      if (cy < 0 || cy >= this.height) continue;
      const sy = Math.floor(ty / scale);
      for (let tx = 0; tx < tileWidth * scale; tx++) {
        const cx = x + tx;
        if (cx < 0 || cx >= this.width) continue;
        const s = (sy * tileWidth + Math.floor(tx / scale)) * channels, d = (cy * this.width + cx) * 3;
        for (let c = 0; c < 3; c++) this.pixels[d + c] = tile[s + (channels === 3 ? c : 0)];
      }
    }
  }

  /** Prints text in the bitmap font with its top-left corner at (x, y); returns the width used. */
  print(x: number, y: number, s: string, colour: Rgb, scale = 1): number {
    let cx = x;
    for (const ch of s) {
      const rows = glyph(ch);
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          if (rows[gy] & (1 << (GLYPH_WIDTH - 1 - gx))) this.fill(cx + gx * scale, y + gy * scale, scale, scale, colour);
        }
      }
      cx += (GLYPH_WIDTH + 1) * scale;
    }
    return cx - x - (s.length ? scale : 0);
  }
}

/** The width in pixels of `s` printed at `scale`. */
export function textWidth(s: string, scale = 1): number {
  const n = [...s].length;
  return n ? (n * (GLYPH_WIDTH + 1) - 1) * scale : 0;
}
