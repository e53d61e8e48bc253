// The input gradient of strided convolutions by output phase: no im2col-shaped matrix, no
// col2im, each float of dx written once.
//
// dx[c, ih, iw] = Σ_{o, kh, kw} w[o, c, kh, kw] · dy[o, oh, ow] over ih = oh·SH − PH + kh·DH and
// iw = ow·SW − PW + kw·DW. Rows ih = i·SH + py of one phase py receive only from the taps kh with
// kh·DH ≡ py + PH (mod SH), each from dy's row i + d(kh), d(kh) = (py + PH − kh·DH) / SH; the
// same along the columns. So dx's SH·SW phases are SH·SW stride-1 correlations of dy with
// sub-kernels, each an implicit GEMM
//   dx_phase[Cg, Hph·Wph] = Wᵀ_phase · dy_taps    [Cg, Hph·Wph] = [Cg, Og·taps]·[Og·taps, Hph·Wph]
// run by f32-gemm-4x8 with B's rows through a tap table (gemm4x8Table, as the forward's): along a
// row of the phase 8 pixels read 8 consecutive floats of dy's zero-padded copy, at an offset
// that depends on the tap only. At column stride 2 the 4×8 tiles of the two column phases of a
// row go to a buffer and straight on into dx's 16 columns (four shuffles per row of 16); at
// other strides each phase's tiles go to a phase plane (rows rounded up to 8 floats) and one pass
// interleaves the planes into dx. Every multiply-add of the pass is one of Wᵀ·dY's, as in the
// im2col lowering, but nothing is written and read back K·OH·OW floats wide, and dx needs no
// clearing first.
//
// Per image and group: the padded copy of dy (Og planes of Hq × Wq), then the phases; the
// tables and the weights regrouped per phase ([Cg × Og·taps] row-major) are made once per group.
// Where the time goes (relaxed build, batch 64, 3×3 s2 p1): the GEMMs run at 77–79% of the FMA
// peak; the copy of dy and the tables take 5–6% of the pass; the pass of the phase planes over
// dx took 8–13% more before column stride 2 wrote dx from the tiles (×1.07–1.12 both builds).
// The tables and the regrouped weights are made per call: with a modulo test per tap inside the
// loops over channels (3×3 32→64 s2 p1 on 16×16: ~110 µs a call, against ~50 µs an image) they
// cost 13% of dx at batch 16. Walking each phase's taps as the residue class they are (firstTap,
// tapStep) takes that to ~40 µs: dx ×1.08 at batch 16 (74% → 80% of the FMA peak), the same bits.
// Tried, not kept: the weights packed by 4 rows for f32-gemm-4x8 (the 4 splats of a k from one
// pointer, one pointer step where row pointers take four): ×1.00–1.01 at batch 16 and 64.
import { gemm4x8Table, gemm1x8Table } from "./gemm-inplace";
import { stridedApplies } from "./conv-strided";

/** ⌊a / b⌋ for b > 0 and any a. */
// @ts-ignore: decorator
@inline function floorDiv(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((b - 1 - a) / b);
}

/** Whether tap k of an axis (stride S, padding before Pd, dilation D) sends into phase p: k·D ≡ p + Pd (mod S). */
// @ts-ignore: decorator
@inline function tapInPhase(p: i32, Pd: i32, k: i32, D: i32, S: i32): bool {
  const r = (p + Pd - k * D) % S;
  return r == 0;
}

/** The first tap from `from` on of an axis in phase p (Kk when none): the phase's taps are firstTap + m·tapStep. */
// @ts-ignore: decorator
@inline function firstTap(p: i32, Pd: i32, Kk: i32, D: i32, S: i32, from: i32 = 0): i32 {
  let k = from;
  while (k < Kk && !tapInPhase(p, Pd, k, D, S)) k++;
  return k;
}

/**
 * The distance between consecutive taps of phase p after `first` (Kk when there is one tap or
 * none): the k with k·D ≡ p + Pd (mod S) are one residue class mod S / gcd(D, S).
 */
// @ts-ignore: decorator
@inline function tapStep(p: i32, Pd: i32, Kk: i32, D: i32, S: i32, first: i32): i32 {
  const k = firstTap(p, Pd, Kk, D, S, first + 1);
  return k < Kk ? k - first : Kk;
}

/** The dy row (or column) offset d of tap k in phase p: the phase's row i reads dy's row i + d. */
// @ts-ignore: decorator
@inline function tapShift(p: i32, Pd: i32, k: i32, D: i32, S: i32): i32 {
  return floorDiv(p + Pd - k * D, S);
}

/** Rows (or columns) of dx in phase p: those of [0, n) congruent to p mod S. */
// @ts-ignore: decorator
@inline function phaseLength(p: i32, n: i32, S: i32): i32 {
  return p < n ? (n - p + S - 1) / S : 0;
}

/**
 * dy's padded copy along one axis (n rows of dy): the rows before dy (lo, the low 32 bits) and
 * the copy's length (len, the high 32 bits), so that every tap of every phase reads rows
 * lo + i + d inside [0, len) for 0 ≤ i < span (the longest phase, rounded up to whole tiles).
 */
function paddedAxis(S: i32, Pd: i32, Kk: i32, D: i32, span: i32, n: i32): i64 {
  let dmin = 0, dmax = 0, any = false;
  for (let p = 0; p < S; p++) {
    for (let k = 0; k < Kk; k++) {
      if (!tapInPhase(p, Pd, k, D, S)) continue;
      const d = tapShift(p, Pd, k, D, S);
      if (!any) { dmin = d; dmax = d; any = true; } else { dmin = min(dmin, d); dmax = max(dmax, d); }
    }
  }
  const lo = max(0, -dmin);
  const len = max(lo + n, lo + span - 1 + dmax + 1);
  return <i64>lo | (<i64>len << 32);
}

/** Floats of scratch stridedInputGrad needs, in f64 (see there). */
export function stridedInputGradScratchFloats(
  C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): f64 {
  const Cg = C / G, Og = O / G, taps = <f64>Og * <f64>KH * <f64>KW;
  const Hph = phaseLength(0, H, SH), Wph8 = (phaseLength(0, W, SW) + 7) & ~7;
  const rows = paddedAxis(SH, PH, KH, DH, Hph, OH), cols = paddedAxis(SW, PW, KW, DW, Wph8, OW);
  const Hq = <f64><i32>(rows >> 32), Wq = <f64><i32>(cols >> 32);
  // Table, regrouped weights, dy's copy (4 floats of alignment after each), two 4×8 tiles, and
  // the phase planes (SW ≠ 2).
  const planes = SW == 2 ? 0 : <f64>Cg * <f64>(SH * SW) * <f64>Hph * <f64>Wph8;
  return taps + 4 + <f64>Cg * taps + 4 + <f64>Og * Hq * Wq + 4 + 64 + planes;
}

/** Rounds a byte address up to 16. */
// @ts-ignore: decorator
@inline function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

/**
 * dx = ∂L/∂x of a convolution with stride SH or SW ≥ 2 by output phase (see the file comment):
 * every float of dx written once, the same bits for an image whatever the batch around it.
 * Scratch (stridedInputGradScratchFloats): the tap tables of all phases (Og·KH·KW u32), the
 * weights regrouped per phase, one image's padded dy (Og planes), two 4×8 tiles, its phase planes
 * (Cg·SH·SW; column strides other than 2).
 */
export function stridedInputGrad(
  w: usize, dy: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const Cg = C / G, Og = O / G, KK = KH * KW, taps = Og * KK;
  const Hph = phaseLength(0, H, SH), Wph8 = (phaseLength(0, W, SW) + 7) & ~7;
  const rows = paddedAxis(SH, PH, KH, DH, Hph, OH), cols = paddedAxis(SW, PW, KW, DW, Wph8, OW);
  const top = <i32>rows, Hq = <i32>(rows >> 32), left = <i32>cols, Wq = <i32>(cols >> 32);
  const table = scratch;
  const wp = align16(table + (<usize>taps << 2));
  const dyp = align16(wp + (<usize>Cg * taps << 2));
  const buf = align16(dyp + (<usize>Og * Hq * Wq << 2));
  const planes = buf + 256;
  const plane = Hph * Wph8;
  fillPhaseTables(table, Og, KH, KW, SH, SW, PH, PW, DH, DW, Hq, Wq, top, left);
  // The rows and columns of dy's copy outside dy stay zero: cleared once, dy copied over the rest.
  memory.fill(dyp, 0, <usize>Og * Hq * Wq << 2);
  for (let g = 0; g < G; g++) {
    regroupWeights(w + (<usize>(g * Og) * Cg * KK << 2), wp, Cg, Og, KH, KW, SH, SW, PH, PW, DH, DW);
    for (let n = 0; n < N; n++) {
      padPlanes(dy + (<usize>(n * O + g * Og) * OH * OW << 2), Og, OH, OW, dyp, Hq, Wq, top, left);
      const dxg = dx + (<usize>(n * C + g * Cg) * H * W << 2);
      let t = table, a = wp;
      for (let py = 0; py < SH; py++) {
        let th = 0;
        for (let kh = 0; kh < KH; kh++) if (tapInPhase(py, PH, kh, DH, SH)) th++;
        if (SW == 2) {
          // Both column phases of the row phase, straight into dx's rows py, py + SH, ….
          const K0 = Og * th * tapsInPhase(0, PW, KW, DW, 2), K1 = Og * th * tapsInPhase(1, PW, KW, DW, 2);
          const t1 = t + (<usize>K0 << 2), a1 = a + (<usize>Cg * K0 << 2);
          phasePairGemm(K0, a, t, K1, a1, t1, dyp, Wq, dxg + (<usize>(py * W) << 2), <usize>(SH * W) << 2, <usize>(H * W) << 2,
            Cg, phaseLength(py, H, SH), Wph8, W, buf);
          t = t1 + (<usize>K1 << 2);
          a = a1 + (<usize>Cg * K1 << 2);
          continue;
        }
        for (let px = 0; px < SW; px++) {
          let tw = 0;
          for (let kw = 0; kw < KW; kw++) if (tapInPhase(px, PW, kw, DW, SW)) tw++;
          const Kp = Og * th * tw;
          const out = planes + (<usize>(py * SW + px) * plane << 2);
          phaseGemm(Kp, a, t, dyp, Wq, out, Wph8, <usize>SH * SW * plane << 2, Cg, phaseLength(py, H, SH), Wph8);
          t += <usize>Kp << 2;
          a += <usize>Cg * Kp << 2;
        }
      }
      if (SW != 2) interleavePhases(planes, Hph, Wph8, dxg, Cg, H, W, SH, SW);
    }
  }
}

/** Taps of an axis (stride S, padding before Pd, KK taps at dilation D) in phase p. */
function tapsInPhase(p: i32, Pd: i32, KK: i32, D: i32, S: i32): i32 {
  let n = 0;
  for (let k = 0; k < KK; k++) if (tapInPhase(p, Pd, k, D, S)) n++;
  return n;
}

/**
 * The two column phases of one row phase at SW = 2, written straight into dx: for each 4
 * channels, phase row i and 8 columns j.., phase 0's tile (K0 taps, a0, t0) and phase 1's (K1,
 * a1, t1) go to buf, then interleave into dx's columns 2j.. of row i (at dx + i·rowStep, the
 * channels cs bytes apart), no further than W. Saves the phase planes' pass over dx (at 16→32
 * on 32×32 it took 13% of dx's time).
 */
function phasePairGemm(
  K0: i32, a0: usize, t0: usize, K1: i32, a1: usize, t1: usize, dyp: usize, Wq: i32,
  dx: usize, rowStep: usize, cs: usize, M: i32, rows: i32, cols: i32, W: i32, buf: usize,
): void {
  const rs0 = <usize>K0 << 2, rs1 = <usize>K1 << 2, M4 = M & ~3;
  // Every channel of a tile before the next tile, so the tile's rows of dy's copy stay in L1
  // (as the forward's tiles: ×1.00–1.03 over a panel of 4 channels at a time over all tiles).
  for (let i = 0; i < rows; i++) {
    const b = dyp + (<usize>(i * Wq) << 2), d = dx + <usize>i * rowStep;
    for (let j = 0; j < cols; j += 8) {
      const bj = b + (<usize>j << 2), dj = d + (<usize>j << 3), n = min(16, W - 2 * j);
      let c = 0;
      for (; c < M4; c += 4) {
        gemm4x8Table(K0, a0 + <usize>c * rs0, rs0, t0, bj, buf, 32, 0);
        gemm4x8Table(K1, a1 + <usize>c * rs1, rs1, t1, bj, buf + 128, 32, 0);
        interleaveTile(buf, 4, dj + <usize>c * cs, cs, n);
      }
      for (; c < M; c++) {
        gemm1x8Table(K0, a0 + <usize>c * rs0, t0, bj, buf, 0);
        gemm1x8Table(K1, a1 + <usize>c * rs1, t1, bj, buf + 128, 0);
        interleaveTile(buf, 1, dj + <usize>c * cs, cs, n);
      }
    }
  }
}

/**
 * R rows of dx at d (cs bytes apart), n ≤ 16 floats each: dx[2q] = buf[r][q] and dx[2q + 1] =
 * buf[4 + r][q] (two 4×8 tiles, rows of 8 floats). All 16 by four shuffles.
 */
// @ts-ignore: decorator
@inline function interleaveTile(buf: usize, R: i32, d: usize, cs: usize, n: i32): void {
  for (let r = 0; r < R; r++) {
    const e = buf + (<usize>r << 5), o = e + 128, dr = d + <usize>r * cs;
    if (n == 16) {
      const e0 = v128.load(e), e1 = v128.load(e, 16), o0 = v128.load(o), o1 = v128.load(o, 16);
      v128.store(dr, v128.shuffle<f32>(e0, o0, 0, 4, 1, 5));
      v128.store(dr, v128.shuffle<f32>(e0, o0, 2, 6, 3, 7), 16);
      v128.store(dr, v128.shuffle<f32>(e1, o1, 0, 4, 1, 5), 32);
      v128.store(dr, v128.shuffle<f32>(e1, o1, 2, 6, 3, 7), 48);
    } else {
      for (let q = 0; q < n; q++) store<f32>(dr + (<usize>q << 2), load<f32>(((q & 1) != 0 ? o : e) + (<usize>(q >> 1) << 2)));
    }
  }
}

/**
 * One phase's implicit GEMM: out[c, i, j] = Σ_k A[c, k]·B_k[i, j] for c < M, i < rows, j < cols
 * (a multiple of 8), A row-major [M × K], B_k's row i the floats at dyp + 4·(i·Wq) + table[k];
 * out's rows of ld floats, its channels cs bytes apart. K = 0 (a phase no tap reaches) writes zeros.
 */
function phaseGemm(K: i32, a: usize, table: usize, dyp: usize, Wq: i32, out: usize, ld: i32, cs: usize, M: i32, rows: i32, cols: i32): void {
  const rs = <usize>K << 2;
  let c = 0;
  for (; c + 4 <= M; c += 4) {
    const ac = a + <usize>c * rs, oc = out + <usize>c * cs;
    for (let i = 0; i < rows; i++) {
      const b = dyp + (<usize>(i * Wq) << 2), o = oc + (<usize>(i * ld) << 2);
      for (let j = 0; j < cols; j += 8) gemm4x8Table(K, ac, rs, table, b + (<usize>j << 2), o + (<usize>j << 2), cs, 0);
    }
  }
  for (; c < M; c++) {
    const ac = a + <usize>c * rs, oc = out + <usize>c * cs;
    for (let i = 0; i < rows; i++) {
      const b = dyp + (<usize>(i * Wq) << 2), o = oc + (<usize>(i * ld) << 2);
      for (let j = 0; j < cols; j += 8) gemm1x8Table(K, ac, table, b + (<usize>j << 2), o + (<usize>j << 2), 0);
    }
  }
}

/**
 * The tap tables of every phase, one after the other (py, then px): for phase (py, px), its
 * taps (o, kh, kw) in that order, o < Og, kh and kw those of the phase; entry = the byte offset
 * in dy's padded copy of the tap's row for the phase's pixel (0, 0).
 */
function fillPhaseTables(
  table: usize, Og: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32,
  Hq: i32, Wq: i32, top: i32, left: i32,
): void {
  let t = table;
  for (let py = 0; py < SH; py++) {
    for (let px = 0; px < SW; px++) {
      const kh0 = firstTap(py, PH, KH, DH, SH), sh = tapStep(py, PH, KH, DH, SH, kh0);
      const kw0 = firstTap(px, PW, KW, DW, SW), sw = tapStep(px, PW, KW, DW, SW, kw0);
      for (let o = 0; o < Og; o++) {
        for (let kh = kh0; kh < KH; kh += sh) {
          const r = top + tapShift(py, PH, kh, DH, SH);
          for (let kw = kw0; kw < KW; kw += sw) {
            const q = left + tapShift(px, PW, kw, DW, SW);
            // Bytes within one image's copy, under 4 GiB: exact in u32.
            store<u32>(t, <u32>(((o * Hq + r) * Wq + q) << 2));
            t += 4;
          }
        }
      }
    }
  }
}

/** The weights of one group regrouped per phase, in fillPhaseTables' order: phase (py, px)'s [Cg × Og·taps] row-major. */
function regroupWeights(
  w: usize, wp: usize, Cg: i32, Og: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32,
): void {
  const KK = KH * KW;
  let a = wp;
  for (let py = 0; py < SH; py++) {
    for (let px = 0; px < SW; px++) {
      let th = 0, tw = 0;
      for (let kh = 0; kh < KH; kh++) if (tapInPhase(py, PH, kh, DH, SH)) th++;
      for (let kw = 0; kw < KW; kw++) if (tapInPhase(px, PW, kw, DW, SW)) tw++;
      const Kp = Og * th * tw;
      const kh0 = firstTap(py, PH, KH, DH, SH), sh = tapStep(py, PH, KH, DH, SH, kh0);
      const kw0 = firstTap(px, PW, KW, DW, SW), sw = tapStep(px, PW, KW, DW, SW, kw0);
      for (let c = 0; c < Cg; c++) {
        let d = a + (<usize>c * Kp << 2);
        for (let o = 0; o < Og; o++) {
          const src = w + (<usize>(o * Cg + c) * KK << 2);
          for (let kh = kh0; kh < KH; kh += sh) {
            for (let kw = kw0; kw < KW; kw += sw) {
              store<f32>(d, load<f32>(src + (<usize>(kh * KW + kw) << 2)));
              d += 4;
            }
          }
        }
      }
      a += <usize>Cg * Kp << 2;
    }
  }
}

/** dy's planes [Og × OH × OW] copied into the padded copy [Og × Hq × Wq] at row top, column left (the rows it can hold). */
function padPlanes(dy: usize, Og: i32, OH: i32, OW: i32, dyp: usize, Hq: i32, Wq: i32, top: i32, left: i32): void {
  const rows = min(OH, Hq - top), cols = min(OW, Wq - left);
  for (let o = 0; o < Og; o++) {
    for (let r = 0; r < rows; r++) {
      const s = dy + (<usize>((o * OH + r) * OW) << 2), d = dyp + (<usize>((o * Hq + top + r) * Wq + left) << 2);
      let j = 0;
      for (; j + 4 <= cols; j += 4) v128.store(d + (<usize>j << 2), v128.load(s + (<usize>j << 2)));
      for (; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
    }
  }
}

/**
 * dx[c, ih, iw] = the phase planes' [c, ih mod SH, iw mod SW][ih / SH, iw / SW] (planes of
 * Hph × ld floats, phase (py, px) of channel c the (c·SH·SW + py·SW + px)th). At SW = 2, 8
 * floats of dx from 4 of each column phase by two shuffles.
 */
function interleavePhases(planes: usize, Hph: i32, ld: i32, dx: usize, Cg: i32, H: i32, W: i32, SH: i32, SW: i32): void {
  const plane = <usize>Hph * ld << 2;
  for (let c = 0; c < Cg; c++) {
    const pc = planes + <usize>(c * SH * SW) * plane;
    for (let ih = 0; ih < H; ih++) {
      const py = ih % SH, i = ih / SH;
      const src = pc + <usize>(py * SW) * plane + (<usize>(i * ld) << 2);
      const row = dx + (<usize>((c * H + ih) * W) << 2);
      let iw = 0;
      if (SW == 2) {
        const s1 = src + plane;
        for (; iw + 8 <= W; iw += 8) {
          const v0 = v128.load(src + (<usize>iw << 1)), v1 = v128.load(s1 + (<usize>iw << 1));
          v128.store(row + (<usize>iw << 2), v128.shuffle<f32>(v0, v1, 0, 4, 1, 5));
          v128.store(row + (<usize>iw << 2), v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), 16);
        }
      } else if (SW == 1) {
        for (; iw + 4 <= W; iw += 4) v128.store(row + (<usize>iw << 2), v128.load(src + (<usize>iw << 2)));
      }
      for (; iw < W; iw++) {
        const px = iw % SW, j = iw / SW;
        store<f32>(row + (<usize>iw << 2), load<f32>(src + <usize>px * plane + (<usize>j << 2)));
      }
    }
  }
}

/** Whether every phase of an axis (stride S, padding before Pd, KK taps at dilation D) receives some tap. */
function everyPhaseTapped(S: i32, Pd: i32, KK: i32, D: i32): bool {
  for (let p = 0; p < S; p++) {
    let any = false;
    for (let k = 0; k < KK; k++) if (tapInPhase(p, Pd, k, D, S)) any = true;
    if (!any) return false;
  }
  return true;
}

/**
 * Whether the input gradient of a shape stridedApplies accepts (conv-strided.ts) runs by phase
 * (stridedInputGrad) rather than by im2col's GEMM and col2im: a 4-row panel of input channels
 * (Cg ≥ 4), phase rows of a multiple of 8 pixels (no tile past them) and no phase left without
 * a tap. A pure function of the shape. Measured against the im2col lowering it replaces (dx
 * alone, conv2dInputGrad; CPU time, the two alternating in one process, median of 7, batch 16
 * and 64, ranges over runs; % of the FMA peak measured in the same run, relaxed build):
 *   shape                          replaced              relaxed SIMD          plain SIMD
 *   3×3 32→64 s2 p1 on 16×16       im2col-batched-gemm   ×1.21–1.38, 72–79%    ×1.15–1.23
 *   3×3 16→32 s2 p1 on 32×32       im2col-gemm           ×1.30–1.46, 75–76%    ×1.23–1.27
 *   5×5 16→32 s2 p2 on 32×32       im2col-gemm           ×1.29–1.35, 80%
 *   3×3 5/6/8→16 s2 p1, 16² / 32²  either                ×1.12–1.47
 * (the last two rows with dx through phase planes, before the tiles wrote it directly:
 * ×1.07–1.12 more);
 * where it lost, left out by the rule (measured with phase planes): Cg = 3 (3×3 3→32 s2 on 32×32: 1-row panels only)
 * ×0.49–0.53; phase rows of 4 (3×3 64→128 s2 on 8×8) ×0.71–0.84 and of 17 (3×3 16→32 s2 p0 on
 * 33×33, tiles to 24) ×0.80–0.84; 1×1 stride 2 (three phases of zeros) ×0.68–0.77. A 2×2 kernel
 * at stride 2 (no overlap: not stridedApplies, its forward is im2col's) measured ×1.12–1.25 on
 * 32→32 at 16×16, and stays with im2col's lowering with the rest of its passes.
 */
export function stridedDxApplies(C: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OW: i32): bool {
  return stridedApplies(KH, KW, SH, SW, OW) && C / G >= 4 && phaseLength(0, W, SW) % 8 == 0 &&
    everyPhaseTapped(SH, PH, KH, DH) && everyPhaseTapped(SW, PW, KW, DW);
}
