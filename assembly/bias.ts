// Bias broadcast and bias gradients, for row-major [rows, cols] and NCHW [N, C, HW] layouts.
import { addFloats } from "./util";
import { laneSums } from "./simd";

/** y[r, c] = b[c]: written before a GEMM that accumulates onto it. */
export function biasRows(y: usize, b: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) memory.copy(y + <usize>r * rowBytes, b, rowBytes);
}

/** db[c] += Σ_r dy[r, c]. */
export function biasGradRows(db: usize, dy: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) addFloats(db, dy + (<usize>r * cols << 2), cols);
}

/** y[n, c, :] = b[c] for NCHW with hw = H·W. */
export function biasChannels(y: usize, b: usize, n: i32, channels: i32, hw: i32): void {
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      const v = load<f32>(b + (<usize>c << 2));
      const plane = y + ((<usize>(i * channels + c) * hw) << 2);
      const vv = f32x4.splat(v);
      let j = 0;
      for (; j + 4 <= hw; j += 4) v128.store(plane + (<usize>j << 2), vv);
      for (; j < hw; j++) store<f32>(plane + (<usize>j << 2), v);
    }
  }
}

/** db[c] += Σ_{n, hw} dy[n, c, hw]. Summed in f32x4 lanes per plane, then across lanes. */
export function biasGradChannels(db: usize, dy: usize, n: i32, channels: i32, hw: i32): void {
  biasGradChannelRange(db, dy, n, channels, 0, channels, hw);
}

/** biasGradChannels for channels [c0, c1) alone: each channel's sum the same bits as the whole's. */
export function biasGradChannelRange(db: usize, dy: usize, n: i32, channels: i32, c0: i32, c1: i32, hw: i32): void {
  let c = c0;
  // Planes of one and of four values (MobileNetV2's 1×1 and 2×2 maps): four channels at a time,
  // each lane's sums in the order below, so the same bits.
  if (hw == 1 || hw == 4) for (; c + 4 <= c1; c += 4) biasGradLanes(db, dy, n, channels, c, hw);
  for (; c < c1; c++) {
    let total: f32 = 0;
    for (let i = 0; i < n; i++) {
      const plane = dy + ((<usize>(i * channels + c) * hw) << 2);
      // Two accumulators, two chains of adds in flight where one waited on each add: ×1.9–2.1 on
      // [64, 16–32, 32²], ×1.6–1.7 on [64, 64, 16²], ×1.2–1.3 on smaller planes (raw kernel, the
      // previous build alternately in one process, median of 14; other bits, the order of the sums).
      let acc = f32x4.splat(0), acc1 = f32x4.splat(0);
      let j = 0;
      for (; j + 8 <= hw; j += 8) {
        const q = plane + (<usize>j << 2);
        acc = f32x4.add(acc, v128.load(q)); acc1 = f32x4.add(acc1, v128.load(q, 16));
      }
      if (j + 4 <= hw) { acc = f32x4.add(acc, v128.load(plane + (<usize>j << 2))); j += 4; }
      acc = f32x4.add(acc, acc1);
      let s: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      for (; j < hw; j++) s += load<f32>(plane + (<usize>j << 2));
      total += s;
    }
    const p = db + (<usize>c << 2);
    store<f32>(p, load<f32>(p) + total);
  }
}

/**
 * biasGradChannelRange on channels c..c+3 of planes of one or of four values, the channels in
 * lanes: a plane's sum is its one value (0 + it) or its four values summed as there (laneSums, in
 * that order), and each lane's total adds them up in the same order. Depthwise 3×3 on
 * [64, 480, 1, 1], forward and backward through the layer: this sum had ~19% of the kernels' time.
 */
function biasGradLanes(db: usize, dy: usize, n: i32, channels: i32, c: i32, hw: i32): void {
  const zero = f32x4.splat(0), row = <usize>channels * hw << 2, at = <usize>c * hw << 2;
  let total = zero;
  for (let i = 0; i < n; i++) {
    const p = dy + <usize>i * row + at;
    total = f32x4.add(total, hw == 1 ? f32x4.add(zero, v128.load(p)) : laneSums(v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48)));
  }
  const q = db + (<usize>c << 2);
  v128.store(q, f32x4.add(v128.load(q), total));
}
