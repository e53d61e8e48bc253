// Threads: the kernels on several threads over one shared memory give the same bits as on one.
// The split is by ranges of the batch, so the property under it is checked first, kernel by
// kernel: on every lowering conv2dBatchSplits allows, each image's forward (and input gradient
// alone) is bit for bit the same on any range of the batch. Then whole models train to the same
// weights on 1, 2 and 3 threads (BatchNorm2d's sweeps split too, checked alone on awkward shapes),
// the API refuses bad counts, and a script exits by itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, Block, f32, channelRanges, weightGradChannelRanges, inputChannelRanges, splitCounts, ranges, weightGradSplit, unitSplit, unitRanges, weightGradTapRanges, tapSplit, batchNormSplits, actGradFusions, poolSplits, sweepSplits, splitLimits, gemmRows, gemmSplits, gemmScratch } from 'simdnet/internal';
import { execFileSync } from 'node:child_process';
import { rng, randn, bits, freshSeed, randInt, randomConvGeometry } from './helpers.js';
import { OpModule } from './modules.js';

await sn.ready({ threads: 3 });

const k = rt().kernels;
const ALGORITHMS = ['im2col-gemm', 'pointwise-gemm', 'flat', 'flat-channel-lanes', 'dwconv-3x3', 'dwconv', 'dwconv-channel-lanes',
  'pointwise-batched-gemm', 'im2col-batched-gemm', 'winograd-f2x2', 'winograd-f4x4', 'winograd-f2x2-5x5', 'implicit-gemm', 'implicit-batched-gemm',
  'strided-pointwise-gemm', 'winograd-f4x4-5x5'];

/** A device block holding `values`. */
function block(values) {
  const b = new Block(Math.max(1, values.length) * 4);
  f32(b.ptr, values.length).set(values);
  return b;
}

const view = (b, n) => Array.from(new Uint32Array(rt().memory.buffer, b.ptr, n));

/** Asserts two arrays of bits equal, naming how many values differ and the first (uvu's diff of long arrays takes minutes). */
function sameBits(actual, expected, what) {
  assert.is(actual.length, expected.length, `${what}: length`);
  let differ = 0, first = -1;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) { differ++; if (first < 0) first = i; }
  assert.ok(differ === 0, `${what}: ${differ} of ${actual.length} values differ, the first at ${first}`);
}

// [C, H, W, O, kernel, stride, padding, groups, dilation]: every lowering, awkward sizes.
const SHAPES = [
  [3, 21, 19, 5, 3, 2, 1, 1, 1], // im2col-gemm
  [6, 9, 8, 10, 1, 1, 0, 1, 1], // pointwise-gemm
  [5, 12, 9, 7, 5, 1, 2, 1, 1], // flat
  [3, 17, 15, 16, 3, 1, 1, 1, 1], // flat (channel lanes)
  [12, 11, 10, 12, 3, 1, 1, 12, 1], // depthwise 3×3
  [8, 11, 10, 16, 5, 2, 2, 8, 1], // depthwise, multiplier 2
  [12, 5, 2, 12, 3, 1, 1, 12, 1], // depthwise, channel lanes
  [20, 4, 3, 36, 1, 1, 0, 1, 1], // pointwise, batch folded
  [7, 9, 9, 9, 3, 2, 1, 1, 1], // im2col, batch folded
  [32, 9, 10, 33, 3, 1, 1, 1, 1], // Winograd F(2×2)
  [32, 7, 9, 33, 3, 1, 1, 1, 1], // Winograd F(4×4) on a small plane: tile rows of 3, four-tile vectors across rows and images
  [17, 18, 17, 19, 3, 1, 1, 1, 1], // Winograd F(4×4)
  [9, 17, 15, 10, 5, 1, 2, 1, 1], // Winograd F(4×4,5×5): 20 tiles an image, tile rows of 4 across rows
  [8, 8, 8, 8, 5, 1, 2, 1, 1], // F(2×2,5×5) from 64 tiles in the batch: 16 an image, so one image runs direct
  [6, 14, 12, 6, 3, 1, 2, 2, 2], // dilated, grouped
  [3, 32, 16, 5, 3, 2, 1, 1, 1], // implicit GEMM (strided, rows of 8)
  [3, 9, 16, 9, 3, 2, 1, 1, 1], // implicit GEMM, batch folded (dx by im2col: Cg = 3)
  [6, 9, 16, 7, 3, 2, 1, 1, 1], // implicit GEMM, dx by phase on a map the batch would fold
  [8, 7, 16, 6, 3, 2, 1, 2, 1], // implicit GEMM, dx by phase, groups of 4 channels
  [5, 21, 19, 6, 1, 2, 0, 1, 1], // 1×1 stride 2: dx written once
  [7, 9, 32, 10, 1, 2, 0, 1, 1], // 1×1 stride 2 read in place (rows of 16 pixels, an odd H)
];

test('every lowering is covered by the shapes below', () => {
  const seen = new Set(SHAPES.map(([C, H, W, O, K, S, P, G, D]) =>
    new sn.Conv2d(C, O, K, { stride: S, padding: P, groups: G, dilation: D }).algorithm([5, C, H, W])));
  assert.equal([...seen].sort(), [...ALGORITHMS].sort());
});

test('split invariance: on the lowerings conv2dBatchSplits allows, each image gets the same bits on any range of the batch', () => {
  const rand = rng(71);
  const gemm = new Block(k.gemmScratchFloats() * 4);
  let forwardChecked = 0, inputGradChecked = 0;
  for (const [C, H, W, O, K, S, P, G, D] of SHAPES) {
    const N = 5;
    const OH = Math.floor((H + 2 * P - D * (K - 1) - 1) / S) + 1, OW = Math.floor((W + 2 * P - D * (K - 1) - 1) / S) + 1;
    const args = (n) => [n, C, H, W, O, K, K, S, S, P, P, D, D, G, OH, OW];
    const splits = k.conv2dBatchSplits(...args(N), 1); // the cuts below take ranges of one image
    const xs = C * H * W, ys = O * OH * OW, ws = O * (C / G) * K * K;
    const x = block(randn(N * xs, rand)), w = block(randn(ws, rand)), b = block(randn(O, rand)), dy = block(randn(N * ys, rand));
    const y1 = block(new Float32Array(N * ys)), y2 = block(new Float32Array(N * ys));
    const dx1 = block(new Float32Array(N * xs)), dx2 = block(new Float32Array(N * xs));
    const dw1 = block(new Float32Array(ws)), dw2 = block(new Float32Array(ws)), db1 = block(new Float32Array(O)), db2 = block(new Float32Array(O));
    const cols = new Block(k.conv2dColsFloats(...args(N)) * 4 + 64);
    const what = `${C}→${O} k${K} s${S} p${P} g${G} d${D} @${H}×${W} (${new sn.Conv2d(C, O, K, { stride: S, padding: P, groups: G, dilation: D }).algorithm([N, C, H, W])})`;
    try {
      k.conv2dForward(x.ptr, w.ptr, b.ptr, y1.ptr, ...args(N), cols.ptr, gemm.ptr);
      k.conv2dBackward(x.ptr, w.ptr, dy.ptr, dw1.ptr, db1.ptr, dx1.ptr, ...args(N), cols.ptr, gemm.ptr);
      // Without dx, the weight and bias gradients are the same bits (the threaded backward runs them so).
      k.conv2dBackward(x.ptr, w.ptr, dy.ptr, dw2.ptr, db2.ptr, 0, ...args(N), cols.ptr, gemm.ptr);
      sameBits(view(dw2, ws), view(dw1, ws), `${what}: dW without dx`);
      sameBits(view(db2, O), view(db1, O), `${what}: db without dx`);
      for (const cut of [[0, 1, 3, 5], [0, 2, 5], [0, 4, 5]]) {
        for (let i = 0; i + 1 < cut.length; i++) {
          const n0 = cut[i], n = cut[i + 1] - n0;
          if (splits & 1) k.conv2dForward(x.ptr + n0 * xs * 4, w.ptr, b.ptr, y2.ptr + n0 * ys * 4, ...args(n), cols.ptr, gemm.ptr);
          if (splits & 2) k.conv2dInputGrad(w.ptr, dy.ptr + n0 * ys * 4, dx2.ptr + n0 * xs * 4, ...args(n), cols.ptr, gemm.ptr);
        }
        if (splits & 1) { sameBits(view(y2, N * ys), view(y1, N * ys), `${what}: y by ranges ${cut}`); forwardChecked++; }
        if (splits & 2) { sameBits(view(dx2, N * xs), view(dx1, N * xs), `${what}: dx by ranges ${cut}`); inputGradChecked++; }
      }
    } finally {
      for (const blk of [x, w, b, dy, y1, y2, dx1, dx2, dw1, dw2, db1, db2, cols]) blk.free();
    }
  }
  gemm.free();
  // Everything splits its forward but the three batch-folded lowerings and the lowering one image
  // would not take; its dx too, but for the three depthwise shapes.
  assert.is(forwardChecked, 3 * (SHAPES.length - 4));
  assert.is(inputGradChecked, 3 * (SHAPES.length - 7));
  const args = (N) => [N, 8, 8, 8, 8, 5, 5, 1, 1, 2, 2, 1, 1, 1, 8, 8];
  assert.is(new sn.Conv2d(8, 8, 5, { padding: 2 }).algorithm([5, 8, 8, 8]), 'winograd-f2x2-5x5');
  assert.not.ok(new sn.Conv2d(8, 8, 5, { padding: 2 }).algorithm([1, 8, 8, 8]).startsWith('winograd'));
  assert.is(k.conv2dBatchSplits(...args(5), 1), 0, 'a batch whose ranges could take another lowering is not split');
  // Ranges of 4 images or more take F(2×2,5×5) as the 5 do (64 tiles of 2×2 and more); F(4×4,5×5)
  // runs from 64 tiles of 4×4, 16 images of 8×8: ranges of fewer would take F(2×2,5×5).
  assert.is(k.conv2dBatchSplits(...args(5), 4), 3);
  assert.is(k.conv2dBatchSplits(...args(5), 3), 0);
  assert.is(k.conv2dBatchSplits(...args(32), 16), 3, 'F(4×4,5×5) on every range of 16 images or more');
  assert.is(k.conv2dBatchSplits(...args(32), 10), 0, 'a range of 10 would take F(2×2,5×5)');
});

test('split invariance from a batch size: F(4×4,5×5) on 8×8 planes (from 16 images) gives each image the same bits in two ranges of 16 as in the batch of 32', () => {
  const rand = rng(73), N = 32, C = 8, O = 8, H = 8, W = 8;
  const args = (n) => [n, C, H, W, O, 5, 5, 1, 1, 2, 2, 1, 1, 1, H, W];
  assert.is(new sn.Conv2d(C, O, 5, { padding: 2 }).algorithm([N, C, H, W]), 'winograd-f4x4-5x5');
  assert.is(new sn.Conv2d(C, O, 5, { padding: 2 }).algorithm([16, C, H, W]), 'winograd-f4x4-5x5');
  const xs = C * H * W, ys = O * H * W;
  const x = block(randn(N * xs, rand)), w = block(randn(O * C * 25, rand)), b = block(randn(O, rand)), dy = block(randn(N * ys, rand));
  const y1 = block(new Float32Array(N * ys)), y2 = block(new Float32Array(N * ys)), dx1 = block(new Float32Array(N * xs)), dx2 = block(new Float32Array(N * xs));
  const gemm = new Block(k.gemmScratchFloats() * 4), cols = new Block(k.conv2dColsFloats(...args(N)) * 4 + 64);
  try {
    k.conv2dForward(x.ptr, w.ptr, b.ptr, y1.ptr, ...args(N), cols.ptr, gemm.ptr);
    k.conv2dInputGrad(w.ptr, dy.ptr, dx1.ptr, ...args(N), cols.ptr, gemm.ptr);
    for (const n0 of [0, 16]) {
      k.conv2dForward(x.ptr + n0 * xs * 4, w.ptr, b.ptr, y2.ptr + n0 * ys * 4, ...args(16), cols.ptr, gemm.ptr);
      k.conv2dInputGrad(w.ptr, dy.ptr + n0 * ys * 4, dx2.ptr + n0 * xs * 4, ...args(16), cols.ptr, gemm.ptr);
    }
    sameBits(view(y2, N * ys), view(y1, N * ys), 'y by ranges of 16');
    sameBits(view(dx2, N * xs), view(dx1, N * xs), 'dx by ranges of 16');
  } finally {
    for (const blk of [x, w, b, dy, y1, y2, dx1, dx2, gemm, cols]) blk.free();
  }
});

// [M, N, K]: a Linear's three GEMMs (forward x·Wᵀ, dW = dyᵀ·x, dx = dy·W) on awkward sizes, both
// paths (blocked; dot products for A·Bᵀ with K ≥ 256), rows not a multiple of 4.
const ROW_SHAPES = [[13, 17, 19], [64, 120, 400], [71, 10, 84], [129, 84, 120], [6, 25, 1201], [130, 9, 300]];

test('GEMM by ranges of rows (Linear) on 2 and 3 threads: the whole product\'s bits, with and without ReLU, NaN counted', async () => {
  const limit = splitLimits.minGemmFlops;
  splitLimits.minGemmFlops = 0;
  const rand = rng(79);
  try {
    for (const [M, N, K] of ROW_SHAPES) for (const [tA, tB] of [[0, 1], [1, 0], [0, 0], [1, 1]]) for (const act of [0, 1]) {
      const lda = (tA ? M : K) + 1, ldb = (tB ? K : N) + 2, ldc = N + 3;
      const A = randn((tA ? K : M) * lda, rand), B = randn((tB ? N : K) * ldb, rand), C0 = randn(M * ldc, rand);
      if (act) A[(tA ? (K - 1) * lda + M - 1 : (M - 1) * lda + K - 1)] = NaN; // the last row's last value
      const a = block(A), b = block(B), whole = block(C0);
      const what = `M=${M} N=${N} K=${K} transA=${tA} transB=${tB} act=${act}`;
      try {
        const bad = k.gemmAct(tA, tB, M, N, K, a.ptr, lda, b.ptr, ldb, whole.ptr, ldc, 1, gemmScratch(), act);
        assert.is(bad, act, `${what}: NaN seen on one thread`);
        for (const threads of [2, 3]) {
          sn.setNumThreads(threads);
          await rt().pool.whenStarted();
          const c = block(C0), splits = gemmSplits.rows;
          try {
            assert.is(gemmRows(tA, tB, M, N, K, a.ptr, lda, b.ptr, ldb, c.ptr, ldc, 1, act), bad, `${what}: NaN seen on ${threads} threads`);
            assert.is(gemmSplits.rows - splits, 1, `${what}: split over ${threads} threads`);
            sameBits(view(c, M * ldc), view(whole, M * ldc), `${what}: ${threads} threads`);
          } finally {
            c.free();
          }
        }
      } finally {
        for (const blk of [a, b, whole]) blk.free();
      }
    }
  } finally {
    splitLimits.minGemmFlops = limit;
  }
});

// [C, H, W, O, kernel, stride, padding]: every lowering but the depthwise and grouped ones and
// F(2×2,5×5) (not split by output channels), O a multiple of 4 (what splits).
const WEIGHT_GRAD_SHAPES = [
  [3, 21, 19, 8, 3, 2, 1], // im2col-gemm
  [6, 9, 8, 12, 1, 1, 0], // pointwise-gemm
  [5, 12, 9, 8, 5, 1, 2], // flat
  [3, 17, 15, 32, 3, 1, 1], // flat (channel lanes)
  [20, 4, 3, 36, 1, 1, 0], // pointwise, batch folded
  [7, 9, 9, 12, 3, 2, 1], // im2col, batch folded
  [32, 9, 10, 48, 3, 1, 1], // Winograd F(2×2)
  [32, 7, 9, 48, 3, 1, 1], // Winograd F(4×4) on a small plane
  [17, 18, 17, 20, 3, 1, 1], // Winograd F(4×4)
  [32, 16, 16, 64, 3, 1, 1], // Winograd F(4×4), 4×4-tile weight gradient
  [3, 32, 16, 8, 3, 2, 1], // implicit GEMM
  // ResNet-20's 32 → 64 stride 2: its chunks of images once counted dYᵀ, whose size follows the
  // range's channels (4 + 1 images whole, 5 for a range of 32: 12,374 of 18,432 values differed)
  [32, 16, 16, 64, 3, 2, 1], // implicit GEMM
  [3, 9, 16, 12, 3, 2, 1], // implicit GEMM, batch folded (3 channels: dx by im2col)
  [7, 9, 32, 20, 1, 2, 0], // 1×1 stride 2 read in place
];

test('a first layer\'s weight gradient split into ranges of unequal size (8 + 12 of 20 channels, by 4×4 tiles; 4 chunks of tiles, 6 rows): nothing written past its scratch, the same bits as one thread', () => {
  const heap = rt().heap;
  heap.guardAllocations(64);
  try {
    const run = (threads, mode = 'auto', units = true) => {
      sn.setNumThreads(threads);
      weightGradSplit.mode = mode;
      weightGradSplit.units = units;
      sn.manualSeed(3);
      const conv = new sn.Conv2d(17, 20, 3, { padding: 1 }), model = new sn.Sequential(conv), shape = [16, 17, 18, 17];
      // The model's first layer: no input gradient, so the scratch holds the weight gradient's ranges alone.
      const y = model.forward(sn.tensor(Float32Array.from({ length: 16 * 17 * 18 * 17 }, (_, i) => Math.sin(i)), shape));
      const before = splitCounts.weightGradByChannels, rowsBefore = splitCounts.weightGradByParts, unitsBefore = splitCounts.weightGradUnits;
      new sn.MSELoss().forward(y, sn.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.cos(i)), y.shape)).backward();
      const out = { dw: bits(conv.weight.grad.toArray()), db: bits(conv.bias.grad.toArray()), splits: splitCounts.weightGradByChannels - before,
        rowSplits: splitCounts.weightGradByParts - rowsBefore, unitSplits: splitCounts.weightGradUnits - unitsBefore, tile: conv.weightGradTile(shape) };
      model.dispose();
      return out;
    };
    const one = run(1), two = run(2, 'off');
    heap.checkGuards();
    assert.is(two.tile, 4);
    assert.is(two.splits, 1, 'split by output channels on 2 threads');
    assert.equal(two.dw, one.dw);
    assert.equal(two.db, one.db);
    // By chunks of tiles (4 chunks) in units of one taken as threads come free, or a range a thread
    // (2 + 2, 2 + 1 + 1); by rows of the transformed tile (3 + 3, 2 + 2 + 2); and as the library chooses.
    for (const [mode, units] of [['chunks', true], ['chunks', false], ['rows', true], ['auto', true]]) {
      for (const threads of [2, 3]) {
        const many = run(threads, mode, units), how = `${mode}${units ? ' in units' : ''}, ${threads} threads`;
        heap.checkGuards();
        assert.is(many.rowSplits, 1, `${how}: split by rows or chunks`);
        if (mode !== 'auto') assert.is(many.unitSplits, mode === 'chunks' && units ? 1 : 0, `${how}: in units`);
        assert.is(many.splits, 0, `${how}: not by output channels`);
        assert.equal(many.dw, one.dw, `${how}: dw`);
        assert.equal(many.db, one.db, `${how}: db`);
      }
    }
  } finally {
    heap.guardAllocations(0);
    weightGradSplit.mode = 'auto';
    weightGradSplit.units = true;
    sn.setNumThreads(3);
  }
});

test('weight gradient by output channels: each range of 2 or 3 threads gets the whole convolution\'s bits', () => {
  const rand = rng(73);
  const gemm = new Block(k.gemmScratchFloats() * 4);
  const algorithms = new Set();
  let checked = 0;
  for (const [C, H, W, O, K, S, P] of WEIGHT_GRAD_SHAPES) {
    const N = 5, OH = Math.floor((H + 2 * P - K) / S) + 1, OW = Math.floor((W + 2 * P - K) / S) + 1;
    const args = [N, C, H, W, O, K, K, S, S, P, P, 1, 1, 1, OH, OW];
    const ws = O * C * K * K;
    const x = block(randn(N * C * H * W, rand)), w = block(randn(ws, rand)), dy = block(randn(N * O * OH * OW, rand));
    const dw1 = block(randn(ws, rand)), db1 = block(randn(O, rand));
    const dw2 = block(new Float32Array(ws)), db2 = block(new Float32Array(O));
    const cols = new Block(k.conv2dColsFloats(...args) * 4 + 64);
    const start = [view(dw1, ws), view(db1, O)];
    const algorithm = new sn.Conv2d(C, O, K, { stride: S, padding: P }).algorithm([N, C, H, W]);
    const what = `${C}→${O} k${K} s${S} @${H}×${W} (${algorithm})`;
    try {
      // The gradients accumulate: both start from the same values.
      k.conv2dBackward(x.ptr, w.ptr, dy.ptr, dw1.ptr, db1.ptr, 0, ...args, cols.ptr, gemm.ptr);
      for (const threads of [2, 3]) {
        const channels = weightGradChannelRanges(args, threads);
        assert.ok(channels.length > 1 && channels.every(([o0, Oc]) => k.conv2dWeightGradSplits(...args, o0, Oc) === 1), `${what}: splits over ${threads}`);
        new Uint32Array(rt().memory.buffer, dw2.ptr, ws).set(start[0]);
        new Uint32Array(rt().memory.buffer, db2.ptr, O).set(start[1]);
        for (const [o0, Oc] of channels) {
          const slice = new Block(N * Oc * OH * OW * 4), scratch = new Block(k.conv2dWeightGradRangeFloats(...args, Oc) * 4 + 64);
          k.conv2dWeightGradRange(x.ptr, w.ptr, dy.ptr, dw2.ptr, db2.ptr, o0, Oc, slice.ptr, ...args, scratch.ptr, gemm.ptr);
          slice.free();
          scratch.free();
        }
        sameBits(view(dw2, ws), view(dw1, ws), `${what}: dW over ${threads} ranges`);
        sameBits(view(db2, O), view(db1, O), `${what}: db over ${threads} ranges`);
        checked++;
      }
      algorithms.add(algorithm);
    } finally {
      for (const b of [x, w, dy, dw1, db1, dw2, db2, cols]) b.free();
    }
  }
  assert.is(checked, 2 * WEIGHT_GRAD_SHAPES.length);
  assert.is(algorithms.size, 11, 'every lowering but the depthwise ones and F(2×2,5×5)');
  // Ranges of channels not a multiple of 4, grouped and depthwise convolutions and F(5×5,2×2)'s
  // weight gradient (12 channels as 3 × 4 ranges: 195 of 2700 values differ) stay whole.
  assert.is(new sn.Conv2d(9, 12, 5, { padding: 2 }).algorithm([5, 9, 17, 15]), 'winograd-f4x4-5x5');
  assert.ok(new sn.Conv2d(9, 12, 5, { padding: 2 }).weightGradByWinograd([5, 9, 17, 15]));
  assert.is(k.conv2dWeightGradSplits(5, 9, 17, 15, 12, 5, 5, 1, 1, 2, 2, 1, 1, 1, 17, 15, 0, 4), 0);
  // The 3×3 Winograd weight gradients split in whole panels of 8 channels, the last range ending on
  // the whole's edge panel (17 → 20 by 4×4 tiles: ranges 8 + 12, not 12 + 8, which gave other bits).
  const wino = [5, 17, 18, 17, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 18, 17];
  assert.is(k.conv2dWinogradWeightGrad(...wino), 4);
  assert.equal(weightGradChannelRanges(wino, 2), [[0, 8], [8, 12]]);
  assert.is(k.conv2dWeightGradSplits(...wino, 0, 12), 0);
  assert.is(k.conv2dWeightGradSplits(...wino, 12, 8), 0);
  assert.is(k.conv2dWeightGradSplits(...wino, 8, 8), 1);
  assert.is(k.conv2dWeightGradSplits(...wino, 16, 4), 1);
  assert.is(k.conv2dWeightGradSplits(...wino, 8, 12), 1);
  assert.is(k.conv2dWeightGradSplits(5, 5, 12, 9, 10, 5, 5, 1, 1, 2, 2, 1, 1, 1, 12, 9, 0, 6), 0);
  assert.is(k.conv2dWeightGradSplits(5, 8, 12, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 2, 12, 9, 0, 4), 0);
  assert.is(k.conv2dWeightGradSplits(5, 8, 12, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 12, 9, 0, 4), 0);
});

// [N, C, H, W, O, kernel, padding, groups, dilation]: the weight gradients by the flat pass, which
// split by ranges of taps whatever the output channels.
const TAP_SHAPES = [
  [5, 1, 28, 28, 6, 5, 2, 1, 1], // LeNet-5's conv1 (dense dy rows)
  [5, 6, 14, 14, 16, 5, 0, 1, 1], // LeNet-5's conv2 (channel lanes, read in place)
  [3, 3, 13, 11, 7, 3, 1, 1, 1], // odd channels, dy padded (11 columns)
  [4, 2, 9, 10, 5, 5, 2, 1, 1], // 2 input channels, odd output channels
  [3, 6, 14, 12, 6, 3, 2, 2, 2], // grouped, dilated
  [3, 4, 12, 12, 32, 3, 1, 2, 1], // grouped, channel lanes
  [2, 5, 11, 9, 7, 5, 2, 1, 1], // 5 input channels, padded dy
  [3, 3, 17, 15, 16, 3, 1, 1, 1], // channel lanes, padded input
  [1, 32, 5, 9, 33, 3, 1, 1, 1], // Winograd F(2×2) forward, one image of 45 outputs: the weight gradient by the flat pass
];

test('weight gradient by ranges of taps: any ranges (the threads\' blocks, single taps, cuts off the blocks) give the whole convolution\'s bits, nothing written past each range\'s scratch', () => {
  const rand = rng(83);
  const gemm = new Block(k.gemmScratchFloats() * 4);
  const heap = rt().heap;
  const algorithms = new Set();
  let checked = 0;
  for (const [N, C, H, W, O, K, P, G, D] of TAP_SHAPES) {
    const OH = H + 2 * P - D * (K - 1), OW = W + 2 * P - D * (K - 1), args = [N, C, H, W, O, K, K, 1, 1, P, P, D, D, G, OH, OW];
    const Kg = (C / G) * K * K, ws = O * Kg, conv = new sn.Conv2d(C, O, K, { padding: P, groups: G, dilation: D });
    const algorithm = conv.algorithm([N, C, H, W]), what = `${C}→${O} k${K} p${P} g${G} d${D} @${H}×${W} (${algorithm})`;
    const byWinograd = conv.weightGradByWinograd([N, C, H, W]);
    conv.dispose();
    assert.is(byWinograd, false, `${what}: not by Winograd`);
    const unit = k.conv2dWeightGradTapUnit(...args);
    assert.is(unit, algorithm === 'flat-channel-lanes' ? 2 : 4, `${what}: taps in blocks of 2 on channel lanes, else 4`);
    const x = block(randn(N * C * H * W, rand)), w = block(randn(ws, rand)), dy = block(randn(N * O * OH * OW, rand));
    const start = [randn(ws, rand), randn(O, rand)];
    const dw1 = block(start[0]), db1 = block(start[1]), cols = new Block(k.conv2dColsFloats(...args) * 4);
    try {
      k.conv2dBackward(x.ptr, w.ptr, dy.ptr, dw1.ptr, db1.ptr, 0, ...args, cols.ptr, gemm.ptr);
      const cuts = [...[2, 3].map((t) => blockCuts(Kg, t, unit)), [0, 1, 2, 7, Kg - 1, Kg], [0, 5, 6, Kg]];
      for (const cut of cuts) {
        const dw2 = block(start[0]), db2 = block(start[1]);
        heap.guardAllocations(64);
        const scratch = cut.slice(1).map(() => new Block(k.conv2dWeightGradTapsFloats(...args) * 4));
        heap.guardAllocations(0);
        try {
          cut.slice(1).forEach((k1, i) => k.conv2dWeightGradTaps(x.ptr, dy.ptr, dw2.ptr, db2.ptr, cut[i], k1, ...args, scratch[i].ptr));
          heap.checkGuards();
          sameBits(view(dw2, ws), view(dw1, ws), `${what}: dW by taps ${cut.join(', ')}`);
          sameBits(view(db2, O), view(db1, O), `${what}: db by taps ${cut.join(', ')}`);
          checked++;
        } finally {
          for (const b of [dw2, db2, ...scratch]) b.free();
        }
      }
      algorithms.add(algorithm);
    } finally {
      for (const b of [x, w, dy, dw1, db1, cols]) b.free();
    }
  }
  assert.is(checked, 4 * TAP_SHAPES.length);
  assert.equal([...algorithms].sort(), ['flat', 'flat-channel-lanes', 'winograd-f2x2']);
  // The other lowerings' weight gradients do not run by the flat pass.
  assert.is(k.conv2dWeightGradTapUnit(5, 3, 21, 19, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 11, 10), 0, 'strided');
  assert.is(k.conv2dWeightGradTapUnit(5, 6, 9, 8, 12, 1, 1, 1, 1, 0, 0, 1, 1, 1, 9, 8), 0, 'pointwise');
  assert.is(k.conv2dWeightGradTapUnit(5, 12, 11, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 12, 11, 10), 0, 'depthwise');
  assert.is(k.conv2dWeightGradTapUnit(5, 17, 18, 17, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 18, 17), 0, 'by 4×4 Winograd tiles');
});

test('a layer\'s backward split by taps (dx after dW, or with it in one hand-off, or beside it) gives the bits of one thread on every flat shape', async () => {
  const saved = splitLimits.minConvFlops;
  splitLimits.minConvFlops = 0;
  const rand = rng(89);
  try {
    for (const [N, C, H, W, O, K, P, G, D] of TAP_SHAPES) {
      sn.manualSeed(4);
      const conv = new sn.Conv2d(C, O, K, { padding: P, groups: G, dilation: D });
      // Device tensors, as a layer inside a network gets them.
      const xb = block(randn(N * C * H * W, rand)), x = new sn.Tensor([N, C, H, W], xb);
      const shape = [...conv.forwardDevice(x).shape], size = shape.reduce((a, b) => a * b, 1);
      const dyb = block(randn(size, rand)), dy = new sn.Tensor(shape, dyb);
      const what = `${C}→${O} k${K} p${P} g${G} d${D} @${H}×${W}, batch ${N}`;
      const run = async (threads, mode) => {
        sn.setNumThreads(threads);
        await rt().pool.whenStarted();
        tapSplit.mode = mode;
        // dx's buffer (the layer's, the same each call) poisoned first: a range left unwritten shows.
        conv.forwardDevice(x);
        const old = conv.backwardDevice(dy, true);
        f32(old.ptr, old.size).fill(NaN);
        conv.zeroGrad();
        conv.forwardDevice(x);
        const taps = splitCounts.weightGradByTaps, dx = conv.backwardDevice(dy, true);
        assert.is(dx.ptr, old.ptr, `${what}: dx in the same buffer`);
        return { dx: bits(dx.toArray()), dw: bits(conv.weight.grad.toArray()), db: bits(conv.bias.grad.toArray()), taps: splitCounts.weightGradByTaps - taps };
      };
      try {
        const one = await run(1, 'auto');
        assert.is(one.taps, 0, `${what}: one thread`);
        assert.ok(one.dx.every((b) => b !== bits([NaN])[0]), `${what}: dx written`);
        for (const mode of ['one', 'both', 'beside']) {
          for (const threads of [2, 3]) {
            const many = await run(threads, mode);
            assert.is(many.taps, mode === 'beside' ? 0 : 1, `${what}, ${mode}, ${threads} threads: split by taps`);
            for (const key of ['dx', 'dw', 'db']) sameBits(many[key], one[key], `${what}, ${mode}, ${threads} threads: ${key}`);
          }
        }
      } finally {
        conv.dispose();
        xb.free();
        dyb.free();
      }
    }
  } finally {
    splitLimits.minConvFlops = saved;
    tapSplit.mode = 'auto';
    sn.setNumThreads(3);
  }
});

/** The cuts [0, …, n] of `threads` ranges of n in whole blocks of `unit` (blockRanges, as weightGradTapRanges cuts the taps). */
const blockCuts = (n, threads, unit) => [0, ...channelRanges(n, threads, unit).map(([s, c]) => s + c)];

test('LeNet-5\'s convolutions split their weight gradients by taps: conv1 (6 channels) as 12 + 13 of 25, conv2 (16 channels) as 76 + 74 of 150', async () => {
  const saved = splitLimits.minConvFlops;
  splitLimits.minConvFlops = 0;
  try {
    sn.setNumThreads(2);
    await rt().pool.whenStarted();
    const conv1 = [64, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1, 28, 28], conv2 = [64, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 10, 10];
    assert.is(weightGradChannelRanges(conv1, 2).length, 2);
    assert.is(k.conv2dWeightGradSplits(...conv1, 4, 2), 0, 'conv1: not by output channels (4 + 2)');
    assert.equal(weightGradChannelRanges(conv2, 2), [[0, 16]], 'conv2: one block of 16 output channels');
    assert.equal(weightGradTapRanges(conv1, 1), [[0, 12], [12, 13]]);
    assert.equal(weightGradTapRanges(conv2, 1), [[0, 76], [76, 74]]);
    sn.setNumThreads(1);
    assert.is(weightGradTapRanges(conv1, 1), null, 'one thread');
  } finally {
    splitLimits.minConvFlops = saved;
    sn.setNumThreads(3);
  }
});

test('Winograd weight gradient on 6×6 patches by ranges of rows or of chunks of tiles, then of output channels: every split gets the whole convolution\'s bits, nothing written past its scratch', () => {
  const rand = rng(79);
  const gemm = new Block(k.gemmScratchFloats() * 4);
  const heap = rt().heap;
  // [N, C, H, W, O, kernel]: odd channel counts; 3 chunks of tiles (4×4 tiles, F(5×5,2×2)), and one
  // on a small plane (tile rows of 3: four-tile vectors across rows and images).
  const shapes = [[12, 17, 18, 17, 19, 3], [5, 9, 17, 15, 13, 5], [9, 32, 7, 9, 33, 3]];
  let checked = 0;
  heap.guardAllocations(64);
  try {
    for (const [N, C, H, W, O, K] of shapes) {
      const P = (K - 1) / 2, args = [N, C, H, W, O, K, K, 1, 1, P, P, 1, 1, 1, H, W], ws = O * C * K * K;
      const what = `${C}→${O} k${K} @${H}×${W}, batch ${N}`;
      assert.is(k.conv2dWeightGradRowSplits(...args), 6, `${what}: by Winograd on 6×6 patches`);
      const chunks = k.conv2dWeightGradChunks(...args), sums = k.conv2dWeightGradSumsFloats(O, C);
      assert.is(chunks, H === 7 ? 1 : 3, `${what}: chunks of tiles`);
      const x = block(randn(N * C * H * W, rand)), dy = block(randn(N * O * H * W, rand)), w = block(new Float32Array(ws));
      const start = [randn(ws, rand), randn(O, rand)];
      const dw1 = block(start[0]), db1 = block(start[1]), cols = new Block(k.conv2dColsFloats(...args) * 4);
      k.conv2dBackward(x.ptr, w.ptr, dy.ptr, dw1.ptr, db1.ptr, 0, ...args, cols.ptr, gemm.ptr);
      // [first pass: [r0, r1, k0, k1] per part, its first chunk kept apart (−1: into Z)], second pass's thread count.
      const splits = [];
      for (const p of [2, 3, 4]) splits.push([ranges(6, p).map(([r0, n]) => [r0, r0 + n, 0, chunks, -1]), p]);
      for (const p of [2, 3]) {
        if (chunks < p) continue;
        const first = ranges(chunks, p)[0][1];
        splits.push([ranges(chunks, p).map(([k0, n], t) => [0, 6, k0, k0 + n, t === 0 ? -1 : k0 - first]), p]);
      }
      for (const [parts, p] of splits) {
        const apart = Math.max(0, ...parts.map(([, , , k1, a]) => (a < 0 ? 0 : a + k1 - parts.find((q) => q[4] === a)[2])));
        const Z = new Block(sums * 4), kept = new Block(Math.max(1, apart * sums) * 4);
        const dw2 = block(start[0]), db2 = block(start[1]);
        // The first pass's parts write disjoint planes and chunks: run last to first.
        for (const [r0, r1, k0, k1, a] of [...parts].reverse()) {
          const work = new Block(k.conv2dWeightGradRowsFloats(...args, r1 - r0) * 4);
          k.conv2dWeightGradPart(x.ptr, dy.ptr, Z.ptr, r0, r1, k0, k1, a < 0 ? 0 : kept.ptr + a * sums * 4, ...args, work.ptr);
          work.free();
        }
        for (const [o0, n] of ranges(O, p)) {
          const work = new Block(k.conv2dWeightGradRowsFloats(...args, 6) * 4);
          k.conv2dWeightGradFinish(Z.ptr, kept.ptr, apart, dy.ptr, dw2.ptr, db2.ptr, o0, o0 + n, ...args, work.ptr);
          work.free();
        }
        const how = `${what}: ${parts.map(([r0, r1, k0, k1]) => `rows ${r0}–${r1 - 1} of chunks ${k0}–${k1 - 1}`).join(', ')}; ${p} ranges of channels`;
        sameBits(view(dw2, ws), view(dw1, ws), `${how}: dW`);
        sameBits(view(db2, O), view(db1, O), `${how}: db`);
        for (const b of [Z, kept, dw2, db2]) b.free();
        heap.checkGuards();
        checked++;
      }
      for (const b of [x, dy, w, dw1, db1, cols]) b.free();
    }
  } finally {
    heap.guardAllocations(0);
    gemm.free();
  }
  assert.is(checked, 3 * 3 + 2 + 2);
});

/**
 * One training step then an eval forward of Conv2d 1×1 → BatchNorm2d → act (the act fused into
 * the BatchNorm's sweep) and of a BatchNorm2d alone on a caller's tensor, on `threads` threads with
 * every BatchNorm sweep split: outputs, input and parameter gradients, running statistics as bits,
 * and the splits run.
 */
async function batchNormPass(threads, [N, C, H, W], Act) {
  sn.setNumThreads(threads);
  await rt().pool.whenStarted();
  const before = { ...batchNormSplits };
  sn.manualSeed(3);
  const rand = rng(11);
  const bn = new sn.BatchNorm2d(C), alone = new sn.BatchNorm2d(C, { momentum: null });
  const fused = new sn.Sequential(new sn.Conv2d(C, C, 1, { bias: false }), bn, new Act());
  for (const p of [...bn.parameters(), ...alone.parameters()]) p.data.view().set(randn(C, rand));
  const x = sn.tensor(randn(N * C * H * W, rand).map((v, i) => v + (i % 7)), [N, C, H, W]);
  const dy = sn.tensor(randn(N * C * H * W, rand), [N, C, H, W]);
  const out = {};
  try {
    for (const [name, m] of [['fused', fused], ['alone', alone]]) {
      m.train();
      out[`${name} y`] = bits(m.forward(x).toArray());
      out[`${name} dx`] = bits(m.backward(dy).toArray());
      for (const [pn, p] of m.namedParameters()) out[`${name} d${pn}`] = bits(p.grad.toArray());
      for (const [bn, b] of m.namedBuffers()) if (!bn.endsWith('tracked')) out[`${name} ${bn}`] = bits(b.toArray());
      m.eval();
      out[`${name} eval y`] = bits(m.forward(x).toArray());
    }
  } finally {
    fused.dispose();
    alone.dispose();
  }
  const splits = Object.fromEntries(Object.keys(before).map((key) => [key, batchNormSplits[key] - before[key]]));
  return { out, splits };
}

test('BatchNorm2d (+ fused ReLU / ReLU6) split by channels gives the same bits on 1, 2 and 3 threads', async () => {
  const limit = splitLimits.minBytes, sweepLimit = splitLimits.minSweepBytes;
  splitLimits.minBytes = splitLimits.minSweepBytes = 0;
  try {
    // Channels not a multiple of 4, batches of 1 and 3, odd planes, planes of one value.
    // Planes of one and of four values: four channels a vector where a range holds four below C's
    // last multiple of 4, one by one past that, so the ranges of 2 and 3 threads take other channels each way.
    for (const shape of [[3, 7, 5, 3], [1, 5, 9, 7], [3, 6, 1, 1], [2, 13, 11, 1], [5, 13, 1, 1], [3, 11, 2, 2]]) {
      for (const Act of [sn.ReLU, sn.ReLU6]) {
        const what = `${shape.join('×')} ${Act.name}`;
        const one = await batchNormPass(1, shape, Act);
        assert.equal(one.splits, { stats: 0, affine: 0, backward: 0 }, `${what}: one thread splits nothing`);
        for (const threads of [2, 3]) {
          const many = await batchNormPass(threads, shape, Act);
          assert.equal(Object.keys(many.out), Object.keys(one.out));
          for (const key of Object.keys(one.out)) sameBits(many.out[key], one.out[key], `${what}, ${threads} threads: ${key}`);
          // Statistics and backward by channels (twice each: the fused net's and the lone layer's
          // training passes); the affine sweep by ranges of the batch (not for one image), but for the
          // fused net's eval, whose affine the convolution's stores take.
          assert.is(many.splits.stats, 2, `${what}, ${threads} threads: statistics split`);
          assert.is(many.splits.backward, 2, `${what}, ${threads} threads: backward split`);
          assert.is(many.splits.affine, shape[0] > 1 ? 3 : 0, `${what}, ${threads} threads: affine sweeps split`);
        }
      }
    }
  } finally {
    splitLimits.minBytes = limit;
    splitLimits.minSweepBytes = sweepLimit;
  }
});

/**
 * `pass(threads)` → { y, dx, splits } (bits, and the splits it ran): on one thread it splits
 * nothing, and on 2 and 3 threads it gives one thread's bits, having run `splits` splits.
 */
async function assertSplitBits(pass, what, splits, splitWhat) {
  const one = await pass(1);
  assert.is(one.splits, 0, `${what}: one thread splits nothing`);
  for (const threads of [2, 3]) {
    const many = await pass(threads);
    sameBits(many.y, one.y, `${what}, ${threads} threads: y`);
    sameBits(many.dx, one.dx, `${what}, ${threads} threads: dx`);
    assert.is(many.splits, splits, `${what}, ${threads} threads: ${splitWhat}`);
  }
}

/** Forward and backward of a pooling layer on `threads` threads: output and input gradient as bits, and the splits run. */
async function poolPass(threads, make, shape) {
  sn.setNumThreads(threads);
  await rt().pool.whenStarted();
  const before = poolSplits.count, rand = rng(17), pool = make();
  // Ties inside windows (values rounded to halves) exercise argmax's first-position rule per range.
  const x = sn.tensor(randn(shape.reduce((a, b) => a * b, 1), rand).map((v) => Math.round(2 * v) / 2), shape);
  const y = pool.forward(x);
  const dx = pool.backward(sn.tensor(randn(y.size, rand), y.shape));
  return { y: bits(y.toArray()), dx: bits(dx.toArray()), splits: poolSplits.count - before };
}

test('MaxPool2d and AvgPool2d split by ranges of planes give the same bits on 1, 2 and 3 threads', async () => {
  const limit = splitLimits.minBytes, sweepLimit = splitLimits.minSweepBytes;
  splitLimits.minBytes = splitLimits.minSweepBytes = 0;
  try {
    const layers = [
      ['MaxPool2d(2)', () => new sn.MaxPool2d(2)],
      ['MaxPool2d(3, stride 2, padding 1, ceil)', () => new sn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })],
      ['MaxPool2d(2, dilation 2)', () => new sn.MaxPool2d(2, { dilation: 2 })],
      ['AvgPool2d(2)', () => new sn.AvgPool2d(2)],
      ['AvgPool2d(3, stride 2, padding 1, countIncludePad false)', () => new sn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false })],
    ];
    // Plane counts that do not divide evenly, one plane, odd sizes.
    for (const shape of [[3, 7, 9, 11], [1, 1, 8, 8], [2, 5, 6, 7]]) {
      for (const [name, make] of layers) {
        await assertSplitBits((threads) => poolPass(threads, make, shape), `${name} on ${shape.join('×')}`,
          shape[0] * shape[1] > 1 ? 2 : 0, 'forward and backward split');
      }
    }
  } finally {
    splitLimits.minBytes = limit;
    splitLimits.minSweepBytes = sweepLimit;
  }
});

/**
 * Fills the wasm memory no buffer holds with NaN, so that a split which leaves values unwritten
 * shows it: a buffer freed and handed out again in the next pass would otherwise still hold the
 * one-thread pass's results (the heap's free spans and the memory past its top).
 */
function poisonFreeMemory() {
  const { heap, memory, kernels } = rt();
  for (const { start, size } of heap.free) kernels.fill(start, size >> 2, NaN);
  kernels.fill(heap.top, (memory.buffer.byteLength - heap.top) >> 2, NaN);
}

// [name, make(): a module of two inputs' parameters or a layer of x, the kernels that must split].
const SWEEPS = [
  ['ReLU', () => new sn.ReLU(), ['activationChecked', 'reluBackward']],
  ['ReLU after BatchNorm2d (its backward masks dy itself)', () => new sn.Sequential(new sn.BatchNorm2d(1), new sn.ReLU()), []],
  ['ReLU6', () => new sn.ReLU6(), ['activationChecked', 'relu6Backward']],
  ['LeakyReLU(0.1)', () => new sn.LeakyReLU(0.1), ['leakyReluForward', 'leakyReluBackward']],
  ['Sigmoid', () => new sn.Sigmoid(), ['sigmoidForward', 'sigmoidBackward']],
  ['Tanh', () => new sn.Tanh(), ['tanhForward', 'tanhBackward']],
  ['Hardswish', () => new sn.Hardswish(), ['hardswishForward', 'hardswishBackward']],
  ['SiLU', () => new sn.SiLU(), ['siluForward', 'siluBackward']],
  ['GELU', () => new sn.GELU(), ['geluForward', 'geluBackward']],
  ["GELU('tanh')", () => new sn.GELU({ approximate: 'tanh' }), ['geluTanhForward', 'geluTanhBackward']],
  ['ELU(0.7)', () => new sn.ELU(0.7), ['eluForward', 'eluBackward']],
  ['sn.relu', (v, shape) => new OpModule(v, [shape, shape], (a) => sn.relu(a)), ['activationChecked', 'reluBackward']],
  ['sn.relu6', (v, shape) => new OpModule(v, [shape, shape], (a) => sn.relu6(a)), ['activationChecked', 'relu6Backward']],
  ['sn.sigmoid', (v, shape) => new OpModule(v, [shape, shape], (a) => sn.sigmoid(a)), ['sigmoidForward', 'sigmoidBackward']],
  ['sn.elu', (v, shape) => new OpModule(v, [shape, shape], (a) => sn.elu(a, 0.7)), ['eluForward', 'eluBackward']],
  ['sn.gelu', (v, shape) => new OpModule(v, [shape, shape], (a) => sn.gelu(a)), ['geluForward', 'geluBackward']],
  ['sn.add (the residual add) and sn.mul', (v, shape) => new OpModule(v, [shape, shape], (a, b) => sn.mul(sn.add(a, b), b)), ['addForward', 'mulForward']],
  ['sn.mul by a number', (v, shape) => new OpModule(v, [shape, shape], (a) => sn.mul(a, 2.5)), ['mulScalar']],
  // a's gradient the sum of three: the first two added into a buffer (addForward), the third into it (addInto).
  ['three uses of one input, their gradients summed', (v, shape) => new OpModule(v, [shape, shape], (a, b) => sn.add(sn.mul(a, b), sn.add(sn.relu(a), sn.tanh(a)))),
    ['addForward', 'addInto', 'mulForward', 'reluBackward', 'tanhBackward']],
];

test('element-wise kernels (activations, sums, products, gradients summed) split by ranges of 16 values give the same bits on 1, 2 and 3 threads', async () => {
  const limit = splitLimits.minBytes, sweepLimit = splitLimits.minSweepBytes;
  splitLimits.minBytes = splitLimits.minSweepBytes = 0;
  try {
    // Sizes around whole vectors and cache lines, one under a vector; zeros, −0 and denormals in the values and dy.
    const special = [0, -0, 1e-45, -1e-45];
    const values = (n, rand) => randn(n, rand).map((v, i) => (i % 7 === 3 ? special[i % special.length] : 2 * v));
    const pass = async (threads, n, make, kernels) => {
      sn.setNumThreads(threads);
      await rt().pool.whenStarted();
      poisonFreeMemory();
      const before = kernels.map((k) => sweepSplits[k] ?? 0), fusedBefore = actGradFusions.count, rand = rng(23);
      const shape = [1, 1, 1, n], x = [values(n, rand), values(n, rand)], dy = values(n, rand);
      const m = make(x, shape);
      let y, grads;
      if (m instanceof OpModule) {
        y = m.forward();
        m.backward(sn.tensor(dy, shape));
        grads = [m.p0.grad, m.p1.grad].filter(Boolean).flatMap((g) => bits(g.toArray()));
      } else {
        y = m.forward(sn.tensor(x[0], shape));
        grads = bits(m.backward(sn.tensor(dy, shape)).toArray());
      }
      const out = { y: bits(y.toArray()), dx: grads, splits: kernels.map((k, i) => (sweepSplits[k] ?? 0) - before[i] > 0 ? 1 : 0).reduce((a, b) => a + b, 0) };
      const bn = m instanceof sn.Sequential;
      assert.is(actGradFusions.count - fusedBefore, bn ? 1 : 0, `${n} values: BatchNorm backward passes fused with the ReLU's`);
      m.dispose?.();
      return out;
    };
    for (const n of [3, 17, 33, 100, 1027]) {
      for (const [name, make, kernels] of SWEEPS) {
        await assertSplitBits((threads) => pass(threads, n, make, kernels), `${name}, ${n} values`,
          n > 16 ? kernels.length : 0, `of ${kernels.join(', ')}, those split where there are two cache lines`);
      }
    }
  } finally {
    splitLimits.minBytes = limit;
    splitLimits.minSweepBytes = sweepLimit;
  }
});

/**
 * The Error of a module make() gives on an input of `shape` with NaN and +Infinity at `bad`, the
 * same on 1, 2 and 3 threads with every memory-bound pass split; handOffs(threads, n) checks each
 * call's hand-offs.
 */
async function nonFiniteError(make, shape, bad, handOffs = () => {}) {
  const limit = splitLimits.minBytes, sweepLimit = splitLimits.minSweepBytes;
  splitLimits.minBytes = splitLimits.minSweepBytes = 0;
  const messages = [];
  try {
    for (const threads of [1, 2, 3]) {
      sn.setNumThreads(threads);
      await rt().pool.whenStarted();
      const m = make();
      const x = randn(shape.reduce((a, b) => a * b), rng(2));
      for (const i of bad) x[i] = i % 2 ? Infinity : NaN;
      const runs = rt().pool.runs;
      try {
        assert.throws(() => m.forward(sn.tensor(x, shape)), (err) => { messages.push(err.message); return true; });
        handOffs(threads, rt().pool.runs - runs);
      } finally {
        m.dispose();
      }
    }
  } finally {
    splitLimits.minBytes = limit;
    splitLimits.minSweepBytes = sweepLimit;
  }
  assert.equal(messages, [messages[0], messages[0], messages[0]]);
  return messages[0];
}

test('BatchNorm2d split over threads counts NaN and infinite inputs as on one thread', async () => {
  assert.match(await nonFiniteError(() => new sn.BatchNorm2d(7), [3, 7, 5, 3], [0, 16, 17, 200, 314]), /5 of 315 values are NaN or infinite/);
});

test('a model\'s input check split over threads counts NaN and infinite values as on one thread', async () => {
  // 3·3·15·7 = 945 floats: ranges of whole cache lines (16 floats) and a tail of 1. One hand-off,
  // the check's, where the convolution itself is too small to split.
  const message = await nonFiniteError(() => new sn.Sequential(new sn.Conv2d(3, 4, 3)), [3, 3, 15, 7], [0, 15, 16, 470, 943, 944],
    (threads, n) => assert.is(n, threads > 1 ? 1 : 0));
  assert.match(message, /^Sequential \(1 layers\) input: 6 of 945 values are NaN or infinite$/);
});

// [N, C, H, W, multiplier, kernel, stride, padding, dilation]: depthwise shapes on planes, awkward sizes.
const DEPTHWISE_SHAPES = [
  [3, 7, 11, 10, 1, 3, 1, 1, 1], // 3×3 stride 1
  [1, 5, 9, 9, 1, 3, 2, 1, 1], // 3×3 stride 2, one image
  [3, 6, 8, 7, 2, 5, 2, 2, 1], // 5×5 stride 2, multiplier 2
  [2, 9, 4, 4, 1, 3, 1, 2, 2], // dilated, small map
  [3, 11, 3, 3, 1, 3, 1, 1, 1], // 3×3 map
];

test('depthwise backward by input channels: each range of 2 or 3 threads gets the whole convolution\'s dw, db and dx', () => {
  const rand = rng(91);
  const gemm = new Block(k.gemmScratchFloats() * 4);
  let checked = 0;
  try {
    for (const [N, C, H, W, m, K, S, P, D] of DEPTHWISE_SHAPES) {
      const O = C * m, span = D * (K - 1) + 1, OH = Math.floor((H + 2 * P - span) / S) + 1, OW = Math.floor((W + 2 * P - span) / S) + 1;
      const args = [N, C, H, W, O, K, K, S, S, P, P, D, D, C, OH, OW];
      const what = `${N}×${C}→${O} k${K} s${S} d${D} @${H}×${W}`;
      assert.is(k.conv2dDepthwiseSplits(...args), 1, `${what}: splits by channels`);
      const ws = O * K * K, xs = N * C * H * W;
      const x = block(randn(xs, rand)), w = block(randn(ws, rand)), dy = block(randn(N * O * OH * OW, rand));
      const dw1 = block(randn(ws, rand)), db1 = block(randn(O, rand)), dx1 = block(new Float32Array(xs));
      const dw2 = block(new Float32Array(ws)), db2 = block(new Float32Array(O)), dx2 = block(new Float32Array(xs));
      const cols = new Block(k.conv2dColsFloats(...args) * 4 + 64);
      const start = [view(dw1, ws), view(db1, O)];
      try {
        k.conv2dBackward(x.ptr, w.ptr, dy.ptr, dw1.ptr, db1.ptr, dx1.ptr, ...args, cols.ptr, gemm.ptr);
        for (const parts of [[[0, 1], [1, C - 1]], [[0, 2], [2, C - 4], [C - 2, 2]]]) {
          new Uint32Array(rt().memory.buffer, dw2.ptr, ws).set(start[0]);
          new Uint32Array(rt().memory.buffer, db2.ptr, O).set(start[1]);
          f32(dx2.ptr, xs).fill(NaN);
          for (const [c0, Cc] of parts) k.conv2dDepthwiseBackwardRange(x.ptr, w.ptr, dy.ptr, dw2.ptr, db2.ptr, dx2.ptr, c0, Cc, ...args, cols.ptr);
          sameBits(view(dw2, ws), view(dw1, ws), `${what}: dW over ${parts.length} ranges`);
          sameBits(view(db2, O), view(db1, O), `${what}: db over ${parts.length} ranges`);
          sameBits(view(dx2, xs), view(dx1, xs), `${what}: dx over ${parts.length} ranges`);
          checked++;
        }
      } finally {
        for (const b of [x, w, dy, dw1, db1, dx1, dw2, db2, dx2, cols]) b.free();
      }
    }
  } finally {
    gemm.free();
  }
  assert.is(checked, 2 * DEPTHWISE_SHAPES.length);
  // The channel-lane kernels (output rows of at most two columns) and non-depthwise shapes stay whole.
  assert.is(k.conv2dDepthwiseSplits(3, 12, 5, 2, 12, 3, 3, 1, 1, 1, 1, 1, 1, 12, 5, 2), 0);
  assert.is(k.conv2dDepthwiseSplits(3, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4, 9, 9), 0);
});

// [N, C, H, W, O]: 1×1 convolutions whose batch folds into one GEMM, on 1×1, 2×2 and 3×3 maps.
const FOLDED_POINTWISE_SHAPES = [[3, 20, 1, 1, 36], [2, 13, 2, 2, 6], [5, 27, 3, 3, 10], [3, 9, 4, 4, 17], [64, 48, 2, 2, 24]];

test('batch-folded pointwise dx by input channels: each range of 2 or 3 threads gets the whole convolution\'s bits', () => {
  const rand = rng(97);
  const gemm = new Block(k.gemmScratchFloats() * 4);
  let checked = 0;
  try {
    for (const [N, C, H, W, O] of FOLDED_POINTWISE_SHAPES) {
      const args = [N, C, H, W, O, 1, 1, 1, 1, 0, 0, 1, 1, 1, H, W];
      const what = `${N}×${C}→${O} 1×1 @${H}×${W}`;
      assert.is(new sn.Conv2d(C, O, 1).algorithm([N, C, H, W]), 'pointwise-batched-gemm', what);
      assert.is(k.conv2dInputGradChannelSplits(...args), 1, `${what}: splits by input channels`);
      const xs = N * C * H * W;
      const x = block(randn(xs, rand)), w = block(randn(O * C, rand)), dy = block(randn(N * O * H * W, rand));
      const dw = block(new Float32Array(O * C)), dx1 = block(new Float32Array(xs)), dx2 = block(new Float32Array(xs));
      const cols = new Block(k.conv2dColsFloats(...args) * 4 + 64);
      try {
        k.conv2dBackward(x.ptr, w.ptr, dy.ptr, dw.ptr, 0, dx1.ptr, ...args, cols.ptr, gemm.ptr);
        for (const threads of [2, 3]) {
          const parts = inputChannelRanges(C, threads);
          assert.ok(parts.length > 1, `${what}: ${threads} ranges`);
          f32(dx2.ptr, xs).fill(NaN);
          for (const [c0, Cc] of parts) k.conv2dInputGradChannels(w.ptr, dy.ptr, dx2.ptr, c0, Cc, ...args, cols.ptr);
          sameBits(view(dx2, xs), view(dx1, xs), `${what}: dx over ${parts.length} ranges`);
          checked++;
        }
      } finally {
        for (const b of [x, w, dy, dw, dx1, dx2, cols]) b.free();
      }
    }
  } finally {
    gemm.free();
  }
  assert.is(checked, 2 * FOLDED_POINTWISE_SHAPES.length);
  // One image runs the per-image GEMM, whose dx splits by the batch; grouped 1×1 convolutions stay whole.
  assert.is(k.conv2dInputGradChannelSplits(1, 20, 1, 1, 36, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1), 0);
  assert.is(k.conv2dInputGradChannelSplits(3, 20, 2, 2, 36, 1, 1, 1, 1, 0, 0, 1, 1, 2, 2, 2), 0);
});

// [N, C, H, W, O, kernel, stride, padding]: convolutions whose batch folds into one GEMM, O not always a multiple of 4.
const FOLDED_SHAPES = [[3, 20, 1, 1, 36, 1, 1, 0], [2, 13, 2, 2, 10, 1, 1, 0], [5, 27, 3, 3, 17, 1, 1, 0], [3, 7, 9, 9, 12, 3, 2, 1], [64, 48, 2, 2, 24, 1, 1, 0]];

test('batch-folded forward by output channels: each range of 2 or 3 threads gets the whole convolution\'s bits, with and without ReLU6', () => {
  const rand = rng(101);
  const gemm = new Block(k.gemmScratchFloats() * 4);
  let checked = 0;
  try {
    for (const [N, C, H, W, O, K, S, P] of FOLDED_SHAPES) {
      const OH = Math.floor((H + 2 * P - K) / S) + 1, OW = Math.floor((W + 2 * P - K) / S) + 1;
      const args = [N, C, H, W, O, K, K, S, S, P, P, 1, 1, 1, OH, OW];
      const what = `${N}×${C}→${O} k${K} s${S} @${H}×${W}`;
      assert.ok(new sn.Conv2d(C, O, K, { stride: S, padding: P }).algorithm([N, C, H, W]).endsWith('batched-gemm'), what);
      assert.is(k.conv2dForwardChannelSplits(...args), 1, `${what}: splits by output channels`);
      const ys = N * O * OH * OW;
      const x = block(randn(N * C * H * W, rand)), w = block(randn(O * C * K * K, rand)), b = block(randn(O, rand));
      const snap = new Block(k.conv2dSnapshotFloats(...args) * 4), y1 = block(new Float32Array(ys)), y2 = block(new Float32Array(ys));
      const cols = new Block(k.conv2dColsFloats(...args) * 4 + 64);
      try {
        k.conv2dSnapshot(w.ptr, b.ptr, snap.ptr, ...args);
        for (const act of [0, 2]) {
          assert.is(k.conv2dForwardAct(x.ptr, snap.ptr, 1, y1.ptr, ...args, cols.ptr, act, gemm.ptr), 0);
          for (const threads of [2, 3]) {
            const parts = channelRanges(O, threads);
            assert.ok(parts.length > 1, `${what}: ${threads} ranges`);
            f32(y2.ptr, ys).fill(NaN);
            for (const [o0, Oc] of parts) assert.is(k.conv2dForwardActChannels(x.ptr, snap.ptr, 1, y2.ptr, o0, Oc, ...args, cols.ptr, act), 0);
            sameBits(view(y2, ys), view(y1, ys), `${what}: act ${act}, y over ${parts.length} ranges`);
            checked++;
          }
        }
      } finally {
        for (const t of [x, w, b, snap, y1, y2, cols]) t.free();
      }
    }
  } finally {
    gemm.free();
  }
  assert.is(checked, 4 * FOLDED_SHAPES.length);
  // One image, and grouped convolutions, stay whole.
  assert.is(k.conv2dForwardChannelSplits(1, 20, 1, 1, 36, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1), 0);
  assert.is(k.conv2dForwardChannelSplits(3, 20, 2, 2, 36, 1, 1, 1, 1, 0, 0, 1, 1, 2, 2, 2), 0);
});

/** The model's parameters after `steps` SGD steps from seed 1 on `threads` threads, as bits, and the pool's runs and splits meanwhile. */
async function train(threads, make, input, steps = 2) {
  sn.setNumThreads(threads);
  await rt().pool.whenStarted();
  sn.manualSeed(1);
  const model = make();
  const opt = new sn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const lossFn = new sn.CrossEntropyLoss();
  const rand = rng(5);
  const x = sn.tensor(randn(input.reduce((a, b) => a * b, 1), rand), input);
  const labels = Array.from({ length: input[0] }, (_, i) => i % 10);
  const runs = rt().pool.runs;
  const channelSplits = splitCounts.weightGradByChannels, depthwiseSplits = splitCounts.depthwiseBackwardByChannels;
  const wgRowSplits = splitCounts.weightGradByParts, tapSplits = splitCounts.weightGradByTaps;
  const bnSplits = batchNormSplits.backward;
  const dxSplits = splitCounts.inputGradByChannels, forwardSplits = splitCounts.forwardByChannels, rowSplits = gemmSplits.rows;
  try {
    for (let s = 0; s < steps; s++) {
      lossFn.forward(model.forward(x), labels).backward();
      opt.step();
      opt.zeroGrad();
    }
    model.eval();
    const out = model.forward(x).toArray();
    return { weights: model.parameters().flatMap((p) => bits(p.data.toArray())), out: bits(out), runs: rt().pool.runs - runs, channelSplits: splitCounts.weightGradByChannels - channelSplits,
      bnSplits: batchNormSplits.backward - bnSplits, wgRowSplits: splitCounts.weightGradByParts - wgRowSplits,
      depthwiseSplits: splitCounts.depthwiseBackwardByChannels - depthwiseSplits, dxSplits: splitCounts.inputGradByChannels - dxSplits,
      forwardSplits: splitCounts.forwardByChannels - forwardSplits, rowSplits: gemmSplits.rows - rowSplits, tapSplits: splitCounts.weightGradByTaps - tapSplits };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

/** A VGG-style net: BatchNorm2d, max-pools, Linear; its first convolution (3→32, no dx) splits its weight gradient by output channels at batch 16. */
function vggStyle() {
  const block = (i, o) => [new sn.Conv2d(i, o, 3, { padding: 1 }), new sn.BatchNorm2d(o), new sn.ReLU()];
  return new sn.Sequential(...block(3, 32), new sn.MaxPool2d(2), ...block(32, 64), new sn.MaxPool2d(2),
    new sn.AvgPool2d(2), new sn.Flatten(), new sn.Linear(64 * 4 * 4, 10));
}

for (const [name, make, input] of [
  ['VGG-style', vggStyle, [16, 3, 32, 32]],
  // Batch 10: the stride-2 3×3 convolutions' weight gradients (2.4 MFLOPs an image) pass minConvFlops
  // and split by output channels; the stride-1 ones take 4×4 tiles (by chunks or rows) from 256 outputs.
  ['ResNet-20', () => sn.models.resnet20(), [10, 3, 32, 32]],
  ['MobileNetV2 ×0.5', () => sn.models.mobilenetV2({ widthMult: 0.5, numClasses: 10 }), [128, 3, 32, 32]],
  ['LeNet-5', () => sn.models.lenet5(), [129, 1, 28, 28]],
]) {
  test(`${name} trains to the same weights and outputs bit for bit on 1, 2 and 3 threads`, async () => {
    const one = await train(1, make, input);
    assert.is(one.runs, 0, 'one thread hands nothing to a worker');
    for (const threads of [2, 3]) {
      const many = await train(threads, make, input);
      assert.ok(many.runs > 0, `${threads} threads: some kernels ran on workers`);
      // Its first Linear's forward is 2·129·120·400 ≈ 1.2·10⁷ FLOPs: over splitLimits.minGemmFlops.
      if (name === 'LeNet-5') assert.ok(many.rowSplits > 0, `${threads} threads: Linear's GEMMs split by rows`);
      // Its convolutions' weight gradients (3·10⁷ and 6·10⁷ FLOPs at batch 129) by taps: 6 and 16 output channels.
      if (name === 'LeNet-5') assert.ok(many.tapSplits >= 2, `${threads} threads: weight gradients split by taps`);
      if (name !== 'LeNet-5') assert.ok(many.channelSplits > 0, `${threads} threads: weight gradients split by output channels`);
      // Its first BatchNorm2d's backward reads and writes 10 MB at batch 16: over splitLimits.minBytes.
      if (name === 'VGG-style') assert.ok(many.bnSplits > 0, `${threads} threads: BatchNorm2d backward split by channels`);
      // Its 32→64 convolution's weight gradient by 4×4 tiles, 2 chunks of tiles: by chunks on 2 threads, by rows on 3.
      if (name === 'VGG-style') assert.ok(many.wgRowSplits > 0, `${threads} threads: Winograd weight gradient split by chunks or rows`);
      if (name.startsWith('MobileNetV2')) {
        assert.ok(many.depthwiseSplits > 0, `${threads} threads: depthwise backward split by channels`);
        assert.ok(many.dxSplits > 0, `${threads} threads: batch-folded pointwise dx split by input channels`);
        assert.ok(many.forwardSplits > 0, `${threads} threads: batch-folded forwards split by output channels`);
      }
      sameBits(many.weights, one.weights, `${threads} threads: weights`);
      sameBits(many.out, one.out, `${threads} threads: eval outputs`);
    }
  });
}

// Every split threshold at 0: each pass that can split does, at batch sizes a test affords. The
// strided weight gradient's chunks once followed the output channels, so ResNet-20's 32 → 64
// stride-2 convolution trained to other bits on 2 threads; at the batch of the test above that
// pass stayed under the threshold and the test could not see it.
test('with every split threshold at 0, ResNet-20, MobileNetV2, the VGG-style net and LeNet-5 train to the same bits on 1, 2 and 3 threads', async () => {
  const saved = { ...splitLimits };
  for (const key of Object.keys(splitLimits)) splitLimits[key] = 0;
  try {
    for (const [name, make, input] of [
      ['ResNet-20', () => sn.models.resnet20(), [6, 3, 32, 32]],
      ['MobileNetV2 ×0.5', () => sn.models.mobilenetV2({ widthMult: 0.5, numClasses: 10 }), [8, 3, 32, 32]],
      ['VGG-style', vggStyle, [3, 3, 32, 32]],
      ['LeNet-5', () => sn.models.lenet5(), [5, 1, 28, 28]],
    ]) {
      const one = await train(1, make, input, 1);
      assert.is(one.runs, 0, `${name}: one thread hands nothing to a worker`);
      for (const threads of [2, 3]) {
        const many = await train(threads, make, input, 1);
        assert.ok(many.runs > 0 && many.channelSplits + many.bnSplits + many.rowSplits > 0, `${name}, ${threads} threads: passes split`);
        sameBits(many.weights, one.weights, `${name}, ${threads} threads: weights`);
        sameBits(many.out, one.out, `${name}, ${threads} threads: eval outputs`);
      }
    }
  } finally {
    Object.assign(splitLimits, saved);
  }
});

// Random geometries, as tests/guard.test.js runs on one thread, with every split threshold at 0 so
// that every pass that can split does: each layer's y, dx, dw and db on 2 and 3 threads are one
// thread's bits, and no thread's share writes past a buffer (the heap's guards after each).
test('random convolution geometries with every split threshold at 0: the same y, dx, dw and db on 1, 2 and 3 threads, nothing written past a buffer', () => {
  const seed = freshSeed(), rand = rng(seed);
  const saved = { ...splitLimits }, heap = rt().heap, runs = rt().pool.runs, units = splitCounts.batchUnits, savedUnits = { ...unitSplit };
  for (const key of Object.keys(splitLimits)) splitLimits[key] = 0;
  heap.guardAllocations(64);
  let ran = 0;
  try {
    for (let i = 0; i < 100; i++) {
      // Small maps and channels, or (one in four) the sizes where Winograd and the channel lanes run;
      // the batch splits in units of all sizes (a range a thread, down to an image a unit), even or guided.
      const { C, O, kernel, options, shape } = randomConvGeometry(rand, { large: i % 4 === 3 });
      unitSplit.perThread = [1, 2, 4, 64][randInt(rand, 0, 3)];
      unitSplit.guide = [0, 1, 2, 4][randInt(rand, 0, 3)];
      const x = Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), rand));
      const seedOfCase = randInt(rand, 1, 1000); // the weights' and dy's
      let one = null;
      for (const threads of [1, 2, 3]) {
        sn.setNumThreads(threads);
        sn.manualSeed(seedOfCase);
        const conv = new sn.Conv2d(C, O, kernel, options);
        const what = `seed ${seed}, case ${i}: ${conv} on [${shape}]`;
        let y;
        try {
          y = conv.forward(sn.tensor(x, shape, { requiresGrad: true }));
        } catch (err) {
          assert.match(err.message, /too small/, what);
          conv.dispose();
          break;
        }
        const ys = y.toArray();
        const dx = conv.backward(sn.tensor(Float32Array.from(ys, (_, j) => Math.sin(j + seedOfCase)), y.shape));
        try { heap.checkGuards(); } catch (err) { assert.unreachable(`${what}, ${threads} threads: ${err.message}`); }
        const out = [ys, dx.toArray(), conv.weight.grad.toArray(), conv.bias ? conv.bias.grad.toArray() : new Float32Array()].map(bits);
        if (one === null) one = out;
        else ['y', 'dx', 'dw', 'db'].forEach((name, j) => sameBits(out[j], one[j], `${what}, ${threads} threads: ${name}`));
        conv.dispose();
        if (threads === 3) ran++;
      }
    }
  } finally {
    heap.guardAllocations(0);
    Object.assign(splitLimits, saved);
    Object.assign(unitSplit, savedUnits);
    sn.setNumThreads(3);
  }
  assert.ok(ran >= 80, `seed ${seed}: only ${ran} of 100 geometries ran`);
  assert.ok(rt().pool.runs > runs, `seed ${seed}: the passes split`);
  assert.ok(splitCounts.batchUnits > units, `seed ${seed}: some passes split in more units than threads`);
});

// At batch 64 conv1's weight gradient (1.5·10⁷ FLOPs) is under the default threshold: lowered 20×
// (as a pool whose hand-offs cost less would), both convolutions split theirs by taps, conv2's
// backward with its dx beside, after or with it in the same hand-off (tapSplit).
test('LeNet-5 at batch 64 with its convolutions\' weight gradients split by taps trains to the same bits on 1, 2 and 3 threads, dx beside dW, after it or with it', async () => {
  const saved = { ...splitLimits };
  for (const key of Object.keys(splitLimits)) splitLimits[key] /= 20;
  try {
    const make = () => sn.models.lenet5(), input = [64, 1, 28, 28];
    const one = await train(1, make, input, 1);
    assert.is(one.runs, 0, 'one thread hands nothing to a worker');
    for (const mode of ['one', 'both', 'beside', 'auto']) {
      tapSplit.mode = mode;
      for (const threads of [2, 3]) {
        const many = await train(threads, make, input, 1);
        // conv1's every step; conv2's too where dx runs after dW.
        assert.ok(many.tapSplits >= (mode === 'beside' ? 1 : 2), `${mode}, ${threads} threads: ${many.tapSplits} weight gradients split by taps`);
        sameBits(many.weights, one.weights, `${mode}, ${threads} threads: weights`);
        sameBits(many.out, one.out, `${mode}, ${threads} threads: eval outputs`);
      }
    }
  } finally {
    Object.assign(splitLimits, saved);
    tapSplit.mode = 'auto';
  }
});

test('training on 3 threads allocates no wasm memory once shapes are stable', async () => {
  sn.setNumThreads(3);
  await rt().pool.whenStarted();
  sn.manualSeed(3);
  const model = vggStyle();
  const opt = new sn.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const lossFn = new sn.CrossEntropyLoss();
  const x = sn.tensor(randn(16 * 3 * 32 * 32, rng(8)), [16, 3, 32, 32]);
  const labels = Array.from({ length: 16 }, (_, i) => i % 10);
  const step = () => { lossFn.forward(model.forward(x), labels).backward(); opt.step(); opt.zeroGrad(); };
  try {
    step(); step();
    const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved, runs = rt().pool.runs;
    for (let i = 0; i < 20; i++) step();
    assert.ok(rt().pool.runs > runs, 'the steps ran on the workers');
    assert.is(rt().heap.bytesInUse, inUse);
    assert.is(rt().heap.bytesReserved, reserved);
  } finally {
    opt.dispose();
    model.dispose();
  }
});

test('backendInfo: threads, shared memory; setNumThreads / getNumThreads; bad counts refused', async () => {
  sn.setNumThreads(2);
  await rt().pool.whenStarted();
  const info = sn.backendInfo();
  assert.is(info.threads, 2);
  assert.is(info.sharedMemory, true);
  assert.is(info.fallbackReason, null);
  assert.ok(rt().memory.buffer instanceof SharedArrayBuffer);
  assert.is(sn.getNumThreads(), 2);
  for (const bad of [0, 1.5, '2', 65, null]) {
    assert.throws(() => sn.setNumThreads(bad), /simdnet: setNumThreads\(n\): expected a whole number of threads from 1 to 64, got/);
  }
  assert.is(sn.getNumThreads(), 2, 'a refused count changes nothing');
  await sn.ready({ threads: 3 });
  assert.is(sn.getNumThreads(), 3, 'a later ready({ threads }) sets the count');
  try {
    await sn.ready({ threads: -1 });
    assert.unreachable('refused');
  } catch (err) {
    assert.match(err.message, /simdnet: ready\(\{ threads \}\): expected a whole number of threads from 1 to 64, got -1/);
  }
});

test('the pool counts how its split calls ended: calls handed to a worker, the calling thread\'s wait for them, and those the workers finished first', async () => {
  await sn.ready({ threads: 2 });
  await rt().pool.whenStarted();
  const pool = rt().pool, n = 1 << 16, a = new Block(n * 4), b = new Block(n * 4);
  try {
    const counters = () => ({ runs: pool.runs, waitMs: pool.waitMs, workersFirst: pool.workersFirst });
    const before = counters();
    pool.run([{ kernel: 'fill', args: [a.ptr, n, 1] }]);
    assert.equal(counters(), before, 'a call with no worker share counts nothing');
    for (let i = 0; i < 20; i++) pool.run([{ kernel: 'fill', args: [a.ptr, n, i] }, { kernel: 'fill', args: [b.ptr, n, i] }]);
    const after = counters();
    assert.is(after.runs - before.runs, 20);
    assert.ok(Number.isFinite(after.waitMs) && after.waitMs >= before.waitMs, JSON.stringify([before, after]));
    assert.ok(Number.isInteger(after.workersFirst) && after.workersFirst >= before.workersFirst && after.workersFirst - before.workersFirst <= 20, JSON.stringify([before, after]));
    assert.equal([f32(a.ptr, n)[n - 1], f32(b.ptr, n)[n - 1]], [19, 19], 'both shares ran');
  } finally {
    a.free();
    b.free();
    await sn.ready({ threads: 3 });
  }
});

test('runUnits: every unit runs once, on whichever thread is free, with that thread\'s own arguments; too many units or too few values refused', async () => {
  await sn.ready({ threads: 3 });
  await rt().pool.whenStarted();
  const pool = rt().pool, n = 1 << 12, count = 40, block = new Block(count * n * 4), big = 1 << 22, first = new Block(big * 4);
  const values = [101, 202, 303], byWorkers = [];
  try {
    for (let round = 0; round < 20; round++) {
      f32(block.ptr, count * n).fill(0);
      // Unit i fills its own stretch with its thread's value (argument 2); the first a long one
      // (16 MB), so that while one thread fills it the others take the rest.
      const tasks = Array.from({ length: count }, (_, i) => ({ kernel: 'fill', args: i === 0 ? [first.ptr, big, values[0]] : [block.ptr + i * n * 4, n, values[0]] }));
      const runs = pool.runs;
      const out = pool.runUnits(tasks, 3, [[2, values]]);
      assert.equal(out, new Array(count).fill(0));
      assert.is(pool.runs, runs + 1, 'one call handed to the workers');
      const v = f32(block.ptr, count * n);
      for (let i = 1; i < count; i++) {
        const value = v[i * n];
        assert.ok(values.includes(value), `round ${round}, unit ${i}: ${value}`);
        assert.ok(v.subarray(i * n, (i + 1) * n).every((x) => x === value), `round ${round}, unit ${i}: one thread filled it whole`);
        if (value !== values[0]) byWorkers.push(value);
      }
    }
    assert.ok(byWorkers.length > 0, 'the workers took units, each with its own value');
    // On one thread (threads = 1) every unit runs on the calling thread, with its values.
    f32(block.ptr, count * n).fill(0);
    pool.runUnits(Array.from({ length: count }, (_, i) => ({ kernel: 'fill', args: [block.ptr + i * n * 4, n, values[0]] })), 1, [[2, values]]);
    assert.ok(f32(block.ptr, count * n).every((x) => x === values[0]));
    const many = Array.from({ length: 65 }, () => ({ kernel: 'fill', args: [block.ptr, 1, 0] }));
    assert.throws(() => pool.runUnits(many, 3), /simdnet: 65 units, at most 64/);
    assert.throws(() => pool.runUnits(many.slice(0, 4), 3, [[2, [1, 2]]]), /simdnet: thread argument 2 has 2 values for 3 threads/);
  } finally {
    block.free();
    first.free();
  }
});

test('unitRanges: the units cover [0, n) in order, none shorter than asked, none longer than the even units (guided: the last ones shorter), at most 64', () => {
  const seed = freshSeed(), rand = rng(seed), saved = { ...unitSplit };
  try {
    for (let i = 0; i < 2000; i++) {
      const n = randInt(rand, 1, 300), threads = randInt(rand, 1, 9), block = [1, 2, 4, 16][randInt(rand, 0, 3)], fewest = randInt(rand, 1, 24);
      unitSplit.perThread = [1, 2, 4, 64][randInt(rand, 0, 3)];
      const guide = [0, 1, 2, 4][randInt(rand, 0, 3)];
      unitSplit.guide = guide;
      const what = `seed ${seed}: n ${n}, ${threads} threads, blocks of ${block}, fewest ${fewest}, ${JSON.stringify(unitSplit)}`;
      const units = unitRanges(n, threads, block, fewest);
      unitSplit.guide = 0;
      const even = unitRanges(n, threads, block, fewest);
      assert.ok(units.length >= 1 && units.length <= 64, `${what}: ${units.length} units`);
      let at = 0;
      for (const [start, count] of units) {
        assert.is(start, at, what);
        at += count;
      }
      assert.is(at, n, what);
      const counts = units.map(([, c]) => c), longest = Math.ceil(n / threads);
      // No more units than threads: overBatchUnits then runs a range a thread.
      if (units.length <= threads) continue;
      assert.ok(Math.min(...counts) >= fewest, `${what}: ${counts}`);
      assert.ok(Math.max(...counts) <= Math.min(longest, even[0][1]), `${what}: ${counts}`);
      // Guided units only shrink, but for the last, which takes what would be too short for a unit of its own.
      const guided = guide > 0 && (units.length !== even.length || units.some(([s, c], j) => s !== even[j][0] || c !== even[j][1]));
      if (guided) counts.slice(1, -1).forEach((c, j) => assert.ok(c <= counts[j], `${what}: guided units grow: ${counts}`));
      if (guided) assert.ok(counts.at(-1) < counts.at(-2) + fewest, `${what}: ${counts}`);
    }
    unitSplit.perThread = 4;
    unitSplit.guide = 2;
    assert.equal(unitRanges(64, 2, 1, 1).map(([, c]) => c), [8, 8, 8, 8, 8, 6, 5, 4, 3, 2, 1, 1, 1, 1]);
    assert.equal(unitRanges(64, 2, 16, 1).map(([, c]) => c), [16, 12, 9, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1]);
    unitSplit.guide = 0;
    assert.equal(unitRanges(64, 2, 1, 1).map(([, c]) => c), new Array(8).fill(8));
  } finally {
    Object.assign(unitSplit, saved);
  }
});

test('a script using threads exits by itself (the workers never keep Node alive)', () => {
  const root = new URL('..', import.meta.url).pathname;
  const script = `import * as sn from 'simdnet';
    const info = await sn.ready({ threads: 2 });
    const conv = new sn.Conv2d(16, 16, 3, { padding: 1 });
    const y = conv.forward(sn.tensor(new Float32Array(16 * 16 * 32 * 32).fill(1), [16, 16, 32, 32]));
    console.log(JSON.stringify({ threads: info.threads, y: y.toArray().length, split: sn.backendInfo().splitCalls > 0 }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: root, timeout: 60000 });
  // split: the workers ran under node --input-type=module too (they inherit the option, which must not make their script a module).
  assert.equal(JSON.parse(out), { threads: 2, y: 16 * 16 * 32 * 32, split: true });
});

test('a worker stopped behind the pool\'s back: no call hangs, its shares run on the calling thread, the same bits, and after pickupTimeoutMs it is counted out', () => {
  const root = new URL('..', import.meta.url).pathname;
  const script = `import * as sn from 'simdnet';
    import { rt } from 'simdnet/internal';
    await sn.ready({ threads: 3 });
    const x = sn.tensor(Float32Array.from({ length: 16 * 16 * 32 * 32 }, (_, i) => Math.sin(i)), [16, 16, 32, 32]);
    const conv = new sn.Conv2d(16, 16, 3, { padding: 1 });
    const bits = (t) => new Uint32Array(t.toArray().buffer);
    const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
    sn.setNumThreads(1);
    const one = bits(conv.forward(x));
    sn.setNumThreads(3);
    const pool = rt().pool;
    pool.pickupTimeoutMs = 1000;
    pool.workerHandle(0).terminate();
    await new Promise((r) => setTimeout(r, 300));
    const runs = pool.runs, taken = pool.takenBack, start = Date.now();
    let same = true, calls = 0, sizeEarly = 0, earlyCalls = 0, firstMs = 0;
    // Calls for 2.5 s: the stopped worker's shares are taken back at once; once it has read none of them for 1 s it is counted out.
    // The pool's size is read right after each call that ends in the first 0.5 s (the bits are compared after the clock is read).
    while (Date.now() - start < 2500) {
      const y = conv.forward(x);
      const ms = Date.now() - start;
      if (calls === 0) firstMs = ms;
      if (ms < 500) { sizeEarly = Math.min(sizeEarly || 3, pool.size); earlyCalls++; }
      calls++;
      same &&= equal(bits(y), one);
    }
    console.log(JSON.stringify({ same, calls, firstMs, earlyCalls, split: pool.runs > runs, taken: pool.takenBack - taken, sizeEarly, size: pool.size, reason: sn.backendInfo().fallbackReason }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: root, timeout: 60000 }));
  const seen = JSON.stringify(out);
  assert.ok(out.same, `the same bits as on one thread: ${seen}`);
  assert.ok(out.split && out.taken > 0, `the calls still split, the stopped worker's shares taken back: ${seen}`);
  assert.ok(out.earlyCalls > 1, `several calls ended in the first 0.5 s (a call on 2 live threads of 3 takes milliseconds): ${seen}`);
  assert.is(out.sizeEarly, 3, `not counted out in the first half of pickupTimeoutMs: ${seen}`);
  assert.is(out.size, 2, `the stopped worker is counted out: ${seen}`);
  assert.match(out.reason, /a worker thread read none of the calls handed to it in 1000 ms \(stopped or crashed\)/);
});

test('a compiled WebAssembly.Module given to ready() runs on one thread and says why', () => {
  const root = new URL('..', import.meta.url).pathname;
  const script = `import * as sn from 'simdnet';
    import { readFileSync } from 'node:fs';
    const module = new WebAssembly.Module(readFileSync('build/simdnet.wasm'));
    const info = await sn.ready({ wasm: module, threads: 4 });
    sn.setNumThreads(3);
    console.log(JSON.stringify({ ...sn.backendInfo(), memoryBytes: 0, n: sn.getNumThreads() }));`;
  const env = { ...process.env, SIMDNET_RELAXED_SIMD: '0' };
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: root, env, timeout: 60000 }));
  assert.is(out.threads, 1);
  assert.is(out.n, 1);
  assert.is(out.sharedMemory, false);
  assert.match(out.fallbackReason, /a compiled WebAssembly\.Module was given to ready\(\): threads need the module's bytes/);
});

test.run();
