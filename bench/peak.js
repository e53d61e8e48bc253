// The peak of wasm SIMD on this machine: a loop of independent f32x4 multiply-adds, measured in
// the same run as everything it is compared with. The module is assembled here byte by byte so
// the harness needs no compiler and the loop contains nothing but the arithmetic.
import { measure, invert } from './stats.js';

const F32X4_SPLAT = [0xfd, 0x13];
const F32X4_EXTRACT_LANE = [0xfd, 0x1f];
const F32X4_ADD = [0xfd, 0xe4, 0x01];
const F32X4_MUL = [0xfd, 0xe6, 0x01];
const F32X4_RELAXED_MADD = [0xfd, 0x85, 0x02];
const V128 = 0x7b, I32 = 0x7f, F32 = 0x7d;
const UNROLL = 4;

const uleb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const f32const = (v) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
const section = (id, body) => [id, ...uleb(body.length), ...body];
const get = (i) => [0x20, ...uleb(i)], set = (i) => [0x21, ...uleb(i)];

/**
 * A module exporting `peak(n: i32): f32`: n iterations of UNROLL rounds of `acc_i = acc_i * m + c` on
 * `accumulators` independent f32x4 registers (2 flops × 4 lanes each), as mul then add, or as one
 * relaxed_madd. Unrolling keeps the loop counter and branch a small share of the instructions.
 * m = 0.5, c = 1 keep every value near 2: no overflow, no denormals. The sum of the accumulators
 * is returned so the engine cannot drop the loop.
 */
export function peakModule(accumulators, relaxed) {
  const n = 0, m = 1, c = 2, acc = (i) => 3 + i;
  const body = [];
  body.push(...f32const(0.5), ...F32X4_SPLAT, ...set(m), ...f32const(1), ...F32X4_SPLAT, ...set(c));
  for (let i = 0; i < accumulators; i++) body.push(...f32const(i), ...F32X4_SPLAT, ...set(acc(i)));
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  body.push(...get(n), 0x45, 0x0d, 1); // if n == 0 break
  for (let u = 0; u < UNROLL; u++) for (let i = 0; i < accumulators; i++) {
    body.push(...get(acc(i)), ...get(m));
    if (relaxed) body.push(...get(c), ...F32X4_RELAXED_MADD);
    else body.push(...F32X4_MUL, ...get(c), ...F32X4_ADD);
    body.push(...set(acc(i)));
  }
  body.push(...get(n), 0x41, 1, 0x6b, ...set(n), 0x0c, 0, 0x0b, 0x0b); // n -= 1; continue; end loop, end block
  body.push(...get(acc(0)));
  for (let i = 1; i < accumulators; i++) body.push(...get(acc(i)), ...F32X4_ADD);
  body.push(...F32X4_EXTRACT_LANE, 0, 0x0b);
  const locals = [1, ...uleb(2 + accumulators), V128];
  const fn = [...locals, ...body];
  const name = [...new TextEncoder().encode('peak')];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, I32, 1, F32]),
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0x00, 0]),
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ]);
}

/** Whether this engine accepts relaxed SIMD (Node 20 only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported() { return WebAssembly.validate(peakModule(1, true)); }

/** Whether this engine accepts SIMD at all. */
export function simdSupported() { return WebAssembly.validate(peakModule(1, false)); }

/**
 * GFLOP/s of the loop for each accumulator count, mul+add and (when accepted) relaxed_madd.
 * Returns { mulAdd: {best, byAccumulators}, relaxedMadd: {…} | null }, each best a {median,min,max}.
 */
export function measurePeak({ quick = false } = {}) {
  const counts = [8, 12, 16];
  const run = (relaxed) => {
    const byAccumulators = {};
    let best = null;
    for (const k of counts) {
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(peakModule(k, relaxed)));
      const iterations = 500_000;
      // Short calls first so V8 tiers the function up before the long timed calls (no OSR for wasm).
      for (let i = 0; i < 20; i++) exports.peak(1000);
      const ms = measure(() => exports.peak(iterations), { warmup: 2, samples: quick ? 3 : 7, minMs: 0 });
      const gflops = invert(ms, (t) => (iterations * UNROLL * k * 8) / (t * 1e6));
      byAccumulators[k] = gflops;
      if (!best || gflops.median > best.median) best = { ...gflops, accumulators: k };
    }
    return { best, byAccumulators };
  };
  return { mulAdd: run(false), relaxedMadd: relaxedSimdSupported() ? run(true) : null };
}

/**
 * Two measurements of the peak (at the start of a run and later) merged: per loop and accumulator
 * count the faster, so a peak loop slowed by other work on a shared machine does not leave the
 * kernels measured later above "100%" of it.
 */
export function mergePeaks(a, b) {
  const merge = (x, y) => {
    if (!x || !y) return x ?? y;
    const byAccumulators = {};
    let best = null;
    for (const k of Object.keys(x.byAccumulators)) {
      const g = (y.byAccumulators[k]?.median ?? 0) > x.byAccumulators[k].median ? y.byAccumulators[k] : x.byAccumulators[k];
      byAccumulators[k] = g;
      if (!best || g.median > best.median) best = { ...g, accumulators: Number(k) };
    }
    return { best, byAccumulators };
  };
  return { mulAdd: merge(a.mulAdd, b.mulAdd), relaxedMadd: merge(a.relaxedMadd, b.relaxedMadd), measurements: (a.measurements ?? 1) + (b.measurements ?? 1) };
}

/** The loop whose peak bounds the loaded build's kernels: relaxed_madd for the relaxed build, else mul+add. */
export function peakLoop(peak, relaxedBuild) {
  return relaxedBuild && peak.relaxedMadd ? { key: 'relaxedMadd', name: 'FMA (relaxed_madd)', gflops: peak.relaxedMadd.best.median }
    : { key: 'mulAdd', name: 'mul+add', gflops: peak.mulAdd.best.median };
}
