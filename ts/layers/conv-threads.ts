// A convolution's passes over several threads (runtime/threads.ts). The forward and the input
// gradient split the batch into ranges, one per thread, on the lowerings where each image gets
// the same bits whatever range it runs in (conv2dBatchSplits: all but the batch-folded GEMMs; the
// input gradient alone not on the depthwise kernels, whose backward interleaves it with the
// weight gradient). The weight gradient splits by output channels (conv2dWeightGradSplits: each
// thread the rows of dw of its range, summed over the whole batch, so no partial sums): the
// backward runs the weight gradient's ranges, then dx's, each pass over every thread. Where the
// weight gradient does not split (grouped, depthwise, F(5×5,2×2), ranges that would change the
// kernels) it runs whole on the calling thread while the workers compute dx. So no result depends
// on the thread count, and a worker still starting up just takes no range.
import { gemmScratch, rt } from '../runtime/index.js';
import { blockRanges, ranges, type Task } from '../runtime/threads.js';
import { overRanges, runTasks, splitLimits, splitThreads } from '../runtime/split.js';

/** conv2dBatchSplits' answers: the forward may be split by the batch; so may the input gradient alone. */
export const SPLITS_FORWARD = 1, SPLITS_INPUT_GRAD = 2;

/** The threads a pass of `flops` FLOPs over a batch of N may take now: 1 without workers, for one image, or for a small pass. */
export function passThreads(N: number, flops: number): number {
  return splitThreads(N, flops, splitLimits.minConvFlops);
}

/** A convolution's size arguments (conv2dForward's order) for `count` images. */
export function withBatch(args: readonly number[], count: number): number[] {
  const a = [...args];
  a[0] = count;
  return a;
}

/** Floats of im2col scratch each of `threads` ranges of a batch of N needs (the first range is the longest). */
export function rangeColsFloats(args: readonly number[], N: number, threads: number): number {
  const longest = ranges(N, threads)[0][1];
  // Each thread's share starts on a cache line: 16 floats.
  return Math.ceil(rt().kernels.conv2dColsFloats(...withBatch(args, longest)) / 16) * 16;
}

/**
 * Runs `share(start, count, thread)`'s task for each range of a batch of N over `threads` threads
 * (thread 0 the calling one) and returns what each returned, in range order.
 */
export function overBatch(N: number, threads: number, share: (start: number, count: number, thread: number) => Task): number[] {
  return overRanges(N, threads, share);
}

/**
 * Output-channel ranges [o0, Oc] for `threads` threads, in whole blocks of 16 channels when O is
 * a multiple of 16 (the flat pass's channel-lane kernels run on O mod 16 = 0), else of 4 (or
 * `unit`), the short last block evening them out (blockRanges).
 */
export function channelRanges(O: number, threads: number, unit = O % 16 === 0 ? 16 : 4): [number, number][] {
  return blockRanges(O, threads, unit);
}

/**
 * The output-channel ranges the weight gradient of a convolution of `flops` FLOPs may be split
 * into over the threads ready now, or null where it stays on one thread: a small pass, grouped
 * and depthwise convolutions, and shapes where a range would run other kernels than the whole
 * (conv2dWeightGradSplits), so that each range's bits are the whole's.
 */
export function weightGradRanges(args: readonly number[], flops: number): [number, number][] | null {
  const { pool, kernels } = rt();
  if (!pool || pool.size < 2 || flops < splitLimits.minConvFlops) return null;
  const out = weightGradChannelRanges(args, pool.size);
  if (out.length < 2) return null;
  return out.every(([o0, Oc]) => kernels.conv2dWeightGradSplits(...args, o0, Oc) === 1) ? out : null;
}

/**
 * channelRanges for the weight gradient of the convolution `args`: by Winograd (its GEMMs' panels
 * of 8 output channels, whose edge panel of fewer sums in another order) in whole panels of 8,
 * the last range ending on the whole's edge panel.
 */
export function weightGradChannelRanges(args: readonly number[], threads: number): [number, number][] {
  const O = args[4];
  return channelRanges(O, threads, O % 16 === 0 ? 16 : rt().kernels.conv2dWinogradWeightGrad(...args) !== 0 ? 8 : 4);
}

/** Floats of scratch a weight-gradient range of Oc channels takes: dy's planes of its channels, then the convolution's cols. */
export function weightGradRangeFloats(args: readonly number[], Oc: number): number {
  const [N, , , , , , , , , , , , , , OH, OW] = args;
  const slice = Math.ceil((N * Oc * OH * OW) / 16) * 16;
  return slice + Math.ceil(rt().kernels.conv2dWeightGradRangeFloats(...args, Oc) / 16) * 16;
}

/**
 * Input-channel ranges [c0, Cc] for `threads` threads, in whole blocks of 8 channels: the GEMM
 * tiles of a batch-folded pointwise dx (rows of Wᵀ·dY, columns of dy·W) are then the whole's.
 */
export function inputChannelRanges(C: number, threads: number): [number, number][] {
  return blockRanges(C, threads, 8);
}

/** The input gradient alone by ranges of input channels over the whole batch (conv2dInputGradChannels, each range in its own `per` floats of `scratch`). */
export function splitInputGradByChannels(
  w: number, dy: number, dx: number, args: readonly number[], channels: readonly [number, number][], scratch: number, per: number,
): void {
  const tasks = channels.map(([c0, Cc], t): Task => ({ kernel: 'conv2dInputGradChannels', args: [w, dy, dx, c0, Cc, ...args, scratch + t * per * 4] }));
  const { pool, kernels } = rt();
  splitCounts.inputGradByChannels++;
  if (!pool || pool.size < tasks.length) for (const t of tasks) kernels[t.kernel](...t.args);
  else pool.run(tasks);
}

/**
 * The output-channel ranges the forward of a batch-folded GEMM (conv2dForwardChannelSplits) of
 * `flops` FLOPs may be split into over the threads ready now, or null where it stays on one
 * thread: its GEMM's result follows the batch, so it splits by rows (output channels) instead.
 */
export function forwardChannelRanges(args: readonly number[], flops: number): [number, number][] | null {
  const { pool, kernels } = rt();
  if (!pool || pool.size < 2 || flops < splitLimits.minConvFlops || kernels.conv2dForwardChannelSplits(...args) !== 1) return null;
  const out = channelRanges(args[4], pool.size);
  return out.length < 2 ? null : out;
}

/** Calls split so far, per kind of split (a test reads them to know a split ran). */
export const splitCounts = { weightGradByChannels: 0, depthwiseBackwardByChannels: 0, inputGradByChannels: 0, forwardByChannels: 0 };

/**
 * The input-channel ranges a depthwise convolution's backward of `flops` FLOPs may be split into
 * over the threads ready now (conv2dDepthwiseSplits: the kernels on planes, channel by channel),
 * or null where it stays on one thread. Any batch, one image too: the ranges are of channels.
 */
export function depthwiseRanges(args: readonly number[], flops: number): [number, number][] | null {
  const { pool, kernels } = rt();
  if (!pool || pool.size < 2 || flops < splitLimits.minDepthwiseFlops || kernels.conv2dDepthwiseSplits(...args) !== 1) return null;
  const out = ranges(args[1], pool.size);
  return out.length < 2 ? null : out;
}

/**
 * A depthwise convolution's backward split by input channels: each thread dw, db and dx of its
 * channels over the whole batch (conv2dDepthwiseBackwardRange, in its own `per` floats of
 * `scratch`), the same bits as one thread.
 */
export function splitDepthwiseBackward(
  x: number, w: number, dy: number, dw: number, db: number, dx: number, args: readonly number[],
  channels: readonly [number, number][], scratch: number, per: number,
): void {
  const tasks = channels.map(([c0, Cc], t): Task => ({
    kernel: 'conv2dDepthwiseBackwardRange', args: [x, w, dy, dw, db, dx, c0, Cc, ...args, scratch + t * per * 4],
  }));
  const { pool, kernels } = rt();
  splitCounts.depthwiseBackwardByChannels++;
  if (!pool || pool.size < tasks.length) for (const t of tasks) kernels[t.kernel](...t.args);
  else pool.run(tasks);
}

/**
 * The weight (and bias) gradient split by output channels: each thread the rows of dw (and db) of
 * its range, summed over the whole batch (conv2dWeightGradRange, in its own `per` floats of
 * `scratch`: no partial sums, the same bits as one thread).
 */
export function splitWeightGrad(
  x: number, w: number, dy: number, dw: number, db: number, args: readonly number[],
  channels: readonly [number, number][], scratch: number, per: number,
): void {
  const [N, , , , , , , , , , , , , , OH, OW] = args;
  const tasks = channels.map(([o0, Oc], t): Task => {
    const at = scratch + t * per * 4, slice = Math.ceil((N * Oc * OH * OW) / 16) * 16;
    return { kernel: 'conv2dWeightGradRange', args: [x, w, dy, dw, db, o0, Oc, at, ...args, at + slice * 4, gemmScratch(t)] };
  });
  splitCounts.weightGradByChannels++;
  runTasks(tasks);
}

/** The input gradient alone by ranges of the batch over `threads` threads (conv2dInputGrad, each range in its own `per` floats of `scratch`). */
export function splitInputGrad(w: number, dy: number, dx: number, args: readonly number[], threads: number, scratch: number, per: number): void {
  const [, C, H, W, O] = args, OH = args[14], OW = args[15];
  overBatch(args[0], threads, (start, count, t) => ({
    kernel: 'conv2dInputGrad',
    args: [w, dy + start * O * OH * OW * 4, dx + start * C * H * W * 4, ...withBatch(args, count), scratch + t * per * 4, gemmScratch(t)],
  }));
}

/**
 * The backward split: the weight (and bias) gradient of the whole batch on the calling thread
 * (conv2dBackward without dx, in `cols`), the input gradient by ranges of the batch on the
 * `threads − 1` workers (conv2dInputGrad, each in its own stretch of `rangeCols`).
 */
export function splitBackward(
  x: number, w: number, dy: number, dw: number, db: number, dx: number, args: readonly number[],
  threads: number, cols: number, rangeCols: number, rangeFloats: number,
): void {
  const [N, C, H, W, O] = args, OH = args[14], OW = args[15];
  const own: Task = { kernel: 'conv2dBackward', args: [x, w, dy, dw, db, 0, ...args, cols, gemmScratch(0)] };
  const shares = ranges(N, threads - 1).map(([start, count], i): Task => ({
    kernel: 'conv2dInputGrad',
    args: [w, dy + start * O * OH * OW * 4, dx + start * C * H * W * 4, ...withBatch(args, count),
      rangeCols + i * rangeFloats * 4, gemmScratch(i + 1)],
  }));
  const { pool, kernels } = rt();
  if (!pool || pool.size < threads) for (const t of [own, ...shares]) kernels[t.kernel](...t.args);
  else pool.run([own, ...shares]);
}
