// im2col / col2im for one image (or one group of its channels), NCHW planes.
//
// cols is [C·KH·KW, OH·OW] row-major: row (c, kh, kw), column (oh, ow) holds
// x[c, oh·SH − PH + kh·DH, ow·SW − PW + kw·DW], or 0 where that falls in the padding.
// PH/PW are the padding before the image; padding after it is implied by OH/OW (anything
// at or past H/W reads as 0), so asymmetric padding such as 'same' with an even kernel needs
// nothing special.
//
// ld, when given, is the row stride of cols in floats (default OH·OW): the batched lowering
// (conv-batched.ts) writes each image's cols into its own column slice of one wide matrix.
import { addFloats } from "./util";

/** cols = im2col(x). */
export function im2col(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, cols: usize, ld: i32 = 0,
): void {
  const rowBytes = <usize>OW << 2;
  const skip = ld > 0 ? <usize>(ld - OH * OW) << 2 : 0;
  let dst = cols;
  for (let c = 0; c < C; c++) {
    const plane = x + (<usize>c * H * W << 2);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const shift = kw * DW - PW; // iw = ow·SW + shift
        const lo = firstInside(shift, SW, OW);
        const hi = max(lo, endInside(shift, SW, W, OW));
        // Stride 2 with 4 or more columns inside: every row by shuffles alone (gatherRowStride2).
        const wide = SW == 2 && hi - lo >= 4;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H || lo == hi) {
            zeroFloats(dst, OW);
          } else if (wide && (ih < H - 1 || c < C - 1)) {
            gatherRowStride2(dst, plane + (<usize>ih * W << 2), shift, lo, hi, OW);
          } else {
            const src = plane + (<usize>ih * W << 2);
            zeroFloats(dst, lo);
            if (SW == 1) {
              copyFloats(dst + (<usize>lo << 2), src + (<usize>(lo + shift) << 2), hi - lo);
            } else {
              let ow = lo;
              // Stride 2: 4 outputs from 8 inputs by one shuffle. The 8th input may be the next
              // row's first float (inside the plane, and dropped), never past the plane.
              if (SW == 2) {
                const end = ih < H - 1 ? 2 * W : W;
                for (; ow + 4 <= hi && 2 * ow + shift + 8 <= end; ow += 4) {
                  const s = src + (<usize>(2 * ow + shift) << 2);
                  v128.store(dst + (<usize>ow << 2), v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
                }
              }
              for (; ow < hi; ow++) {
                store<f32>(dst + (<usize>ow << 2), load<f32>(src + (<usize>(ow * SW + shift) << 2)));
              }
            }
            zeroFloats(dst + (<usize>hi << 2), OW - hi);
          }
          dst += rowBytes;
        }
        dst += skip;
      }
    }
  }
}

/**
 * One row of cols at stride 2 (hi − lo ≥ 4): dst[ow] = src[2·ow + shift] for lo ≤ ow < hi, 0
 * elsewhere in [0, OW). 4 outputs from 8 inputs by one shuffle, at lo, lo + 4, … and a last one
 * at hi − 4 that may overlap the one before (the same values written twice), so no output runs
 * one at a time. The 8 floats read at hi − 4 end at most 2 past the row (2·(hi − 1) + shift ≤
 * W − 1): the caller passes rows that are followed by another row of x (not the last of the
 * last plane).
 */
// @ts-ignore: decorator
@inline function gatherRowStride2(dst: usize, src: usize, shift: i32, lo: i32, hi: i32, OW: i32): void {
  for (let i = 0; i < lo; i++) store<f32>(dst + (<usize>i << 2), 0);
  const last = hi - 4;
  for (let ow = lo; ; ow += 4) {
    const at = min(ow, last);
    const s = src + (<usize>(2 * at + shift) << 2);
    v128.store(dst + (<usize>at << 2), v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
    if (at == last) break;
  }
  for (let i = hi; i < OW; i++) store<f32>(dst + (<usize>i << 2), 0);
}

/**
 * dx += col2im(cols): every column entry is added back to the input pixel it was copied from,
 * so pixels shared by overlapping windows receive the sum of all their contributions.
 */
export function col2imAdd(
  cols: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, dx: usize, ld: i32 = 0,
): void {
  const rowBytes = <usize>OW << 2;
  const skip = ld > 0 ? <usize>(ld - OH * OW) << 2 : 0;
  let src = cols;
  for (let c = 0; c < C; c++) {
    const plane = dx + (<usize>c * H * W << 2);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const shift = kw * DW - PW;
        const lo = firstInside(shift, SW, OW);
        const hi = max(lo, endInside(shift, SW, W, OW));
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih >= 0 && ih < H && lo < hi) {
            const dst = plane + (<usize>ih * W << 2);
            if (SW == 1) {
              addFloats(dst + (<usize>(lo + shift) << 2), src + (<usize>lo << 2), hi - lo);
            } else {
              let ow = lo;
              // Stride 2: 4 values added to every other float of 8. The odd floats get −0, which
              // leaves every value as it was (−0 included); the 8th may be the next row's first.
              if (SW == 2) {
                const end = ih < H - 1 ? 2 * W : W, nz = f32x4.splat(-0.0);
                for (; ow + 4 <= hi && 2 * ow + shift + 8 <= end; ow += 4) {
                  const p = dst + (<usize>(2 * ow + shift) << 2), v = v128.load(src + (<usize>ow << 2));
                  v128.store(p, f32x4.add(v128.load(p), v128.shuffle<f32>(v, nz, 0, 4, 1, 5)));
                  v128.store(p, f32x4.add(v128.load(p, 16), v128.shuffle<f32>(v, nz, 2, 6, 3, 7)), 16);
                }
              }
              for (; ow < hi; ow++) {
                const p = dst + (<usize>(ow * SW + shift) << 2);
                store<f32>(p, load<f32>(p) + load<f32>(src + (<usize>ow << 2)));
              }
            }
          }
          src += rowBytes;
        }
        src += skip;
      }
    }
  }
}

/** The first ow in [0, OW] with ow·SW + shift ≥ 0. */
// @ts-ignore: decorator
@inline function firstInside(shift: i32, SW: i32, OW: i32): i32 {
  return shift >= 0 ? 0 : min(OW, (SW - 1 - shift) / SW);
}

/** One past the last ow in [0, OW] with ow·SW + shift < W. */
// @ts-ignore: decorator
@inline function endInside(shift: i32, SW: i32, W: i32, OW: i32): i32 {
  const room = W - 1 - shift;
  return room < 0 ? 0 : min(OW, room / SW + 1);
}

// Rows are short (often < 32 floats), so these inline loops beat memory.copy/fill calls.

// @ts-ignore: decorator
@inline function zeroFloats(dst: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.splat(0));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
}

// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}


/**
 * Whether col2im of this kernel writes every float of dx exactly once (col2imPoint): a 1×1
 * kernel without padding before the image, whose windows never overlap.
 */
// @ts-ignore: decorator
@inline export function col2imWrites(KH: i32, KW: i32, PH: i32, PW: i32): bool {
  return KH == 1 && KW == 1 && PH == 0 && PW == 0;
}

/**
 * dx = col2im(cols) for a kernel col2imWrites accepts (a strided 1×1 convolution, ResNet's
 * projection shortcut): x[c, ih, iw] is cols[c, ih/SH, iw/SW] where ih, iw are multiples of
 * SH, SW, and 0 elsewhere. Every float of dx is written, so it needs no clearing first; at
 * stride 2, 4 entries and 4 zeros interleaved by two shuffles. Where col2imAdd read and wrote a
 * cleared dx, this writes it once (1×1 32→64 s2 on 16×16, see conv-batched.ts).
 */
export function col2imPoint(cols: usize, C: i32, H: i32, W: i32, SH: i32, SW: i32, OH: i32, OW: i32, dx: usize, ld: i32 = 0): void {
  const rowFloats = ld > 0 ? ld : OH * OW;
  const zero = f32x4.splat(0);
  for (let c = 0; c < C; c++) {
    const src = cols + (<usize>c * rowFloats << 2), plane = dx + (<usize>c * H * W << 2);
    for (let ih = 0; ih < H; ih++) {
      const row = plane + (<usize>ih * W << 2);
      const oh = ih / SH;
      if (ih - oh * SH != 0 || oh >= OH) {
        zeroFloats(row, W);
        continue;
      }
      const s = src + (<usize>(oh * OW) << 2);
      let iw = 0;
      if (SW == 2) {
        for (; iw + 8 <= W && (iw >> 1) + 4 <= OW; iw += 8) {
          const v = v128.load(s + (<usize>(iw >> 1) << 2));
          v128.store(row + (<usize>iw << 2), v128.shuffle<f32>(v, zero, 0, 4, 1, 5));
          v128.store(row + (<usize>iw << 2), v128.shuffle<f32>(v, zero, 2, 6, 3, 7), 16);
        }
      }
      for (; iw < W; iw++) {
        const ow = iw / SW;
        store<f32>(row + (<usize>iw << 2), iw - ow * SW == 0 && ow < OW ? load<f32>(s + (<usize>ow << 2)) : 0);
      }
    }
  }
}

/**
 * im2col of a 1×2 kernel at column stride 2 (and row stride 1), the phase planes of
 * conv-strided.ts: plane (c, φ), row r, column q holds x[c, r − PH, 2q + φ − PW], 0 outside x,
 * for r < Hp and q < Wq. One pass over each row of x, 8 floats to 4 even and 4 odd by two
 * shuffles, where im2col reads each row once per phase, one row of cols at a time: 16→32 s2 on
 * 32×32 (batch 64), the copy took 15–23% of the implicit GEMM's forward. Each row's bounds are
 * worked out once per call, not per row, and the padding rows zeroed as one run per plane: the
 * strided forward ×1.02–1.06 and weight gradient ×1.01–1.05 (both builds, 3×3 s2 p1, 16→32 on
 * 32×32 and 32→64 on 16×16, batch 16 and 64), where the copy was ~9% of either.
 */
export function phaseSplit2(x: usize, C: i32, H: i32, W: i32, PH: i32, PW: i32, Hp: i32, Wq: i32, planes: usize): void {
  const plane = <usize>Hp * Wq << 2, rowBytes = <usize>Wq << 2;
  // x's even columns go to phase pe from column qe on, its odd ones to phase po from qo on.
  const pe = PW & 1, po = pe ^ 1;
  const qe = min(Wq, (PW - pe) >> 1), qo = min(Wq, (PW + 1 - po) >> 1);
  // How many of them fit in a row of Wq.
  const ke = max(0, min((W + 1) >> 1, Wq - qe)), ko = max(0, min(W >> 1, Wq - qo));
  const kv = min(ke, ko);
  // Everything of a row fixed once: the floats by shuffles (jv), the zeros after (tE, tO), and
  // x's rows [r0, r1) of the Hp (those outside zeroed as whole runs of rows).
  let jv = 0;
  while (jv + 4 <= kv && 2 * jv + 8 <= W) jv += 4;
  const tE = Wq - qe - ke, tO = Wq - qo - ko;
  const r0 = min(Hp, max(0, PH)), r1 = max(r0, min(Hp, PH + H));
  for (let c = 0; c < C; c++) {
    const src0 = x + (<usize>c * H * W << 2);
    const pE = planes + <usize>(2 * c + pe) * plane, pO = planes + <usize>(2 * c + po) * plane;
    zeroFloats(pE, r0 * Wq); zeroFloats(pO, r0 * Wq);
    zeroFloats(pE + <usize>r1 * rowBytes, (Hp - r1) * Wq); zeroFloats(pO + <usize>r1 * rowBytes, (Hp - r1) * Wq);
    let dE = pE + <usize>r0 * rowBytes, dO = pO + <usize>r0 * rowBytes;
    let src = src0 + (<usize>((r0 - PH) * W) << 2);
    const srcStep = <usize>W << 2;
    for (let r = r0; r < r1; r++) {
      for (let i = 0; i < qe; i++) store<f32>(dE + (<usize>i << 2), 0);
      for (let i = 0; i < qo; i++) store<f32>(dO + (<usize>i << 2), 0);
      const e = dE + (<usize>qe << 2), o = dO + (<usize>qo << 2);
      for (let j = 0; j < jv; j += 4) {
        const a = v128.load(src + (<usize>j << 3)), b = v128.load(src + (<usize>j << 3), 16);
        v128.store(e + (<usize>j << 2), v128.shuffle<f32>(a, b, 0, 2, 4, 6));
        v128.store(o + (<usize>j << 2), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
      }
      for (let i = jv; i < ke; i++) store<f32>(e + (<usize>i << 2), load<f32>(src + (<usize>i << 3)));
      for (let i = jv; i < ko; i++) store<f32>(o + (<usize>i << 2), load<f32>(src + (<usize>i << 3), 4));
      for (let i = 0; i < tE; i++) store<f32>(e + (<usize>(ke + i) << 2), 0);
      for (let i = 0; i < tO; i++) store<f32>(o + (<usize>(ko + i) << 2), 0);
      dE += rowBytes; dO += rowBytes; src += srcStep;
    }
  }
}
