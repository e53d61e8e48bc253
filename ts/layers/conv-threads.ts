// A convolution's passes over several threads (runtime/threads.ts). The forward and the input
// gradient split the batch into ranges, one per thread, on the lowerings where each image gets
// the same bits whatever range it runs in (conv2dBatchSplits: all but the batch-folded GEMMs, and
// a lowering chosen by the batch size only where the smallest range takes it too; the input
// gradient alone not on the depthwise kernels, whose backward interleaves it with the weight
// gradient). The weight gradient splits by output channels (conv2dWeightGradSplits: each
// thread the rows of dw of its range, summed over the whole batch, so no partial sums), but for
// 3×3 kernels by 4×4 tiles of dy: their sums split in units of chunks of tiles or by rows of the
// transformed tile, then dw by output channels (winogradWeightGradPlan), where each range of
// output channels would transform all of x again, and on the flat pass where the output channels
// do not split into balanced blocks (LeNet-5's 6 and 16) by ranges of taps (weightGradTapRanges:
// each thread every output channel's sums of its taps, over the whole batch). The
// backward runs the weight gradient's passes, then dx's, each over every thread. Where the
// weight gradient does not split (grouped off the flat pass, depthwise, ranges that would change
// the kernels), or by taps where dW and dx balance on 2 threads (tapSplitsBoth), it runs whole on
// the calling thread while the workers compute dx. So no result depends
// on the thread count, and a worker still starting up just takes no range.
import { gemmScratch, rt, type Kernels } from '../runtime/index.js';
import { blockRanges, ranges, type Task } from '../runtime/threads.js';
import { overRanges, overUnits, runTasks, splitLimits, splitThreads, unitRanges } from '../runtime/split.js';

/**
 * The size arguments every convolution kernel takes after its pointers, in their order (N, C, H,
 * W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW): conv2dColsFloats's parameters.
 */
export type ConvArgs = Readonly<Parameters<Kernels['conv2dColsFloats']>>;

/** conv2dBatchSplits' answers: the forward may be split by the batch; so may the input gradient alone. */
export const SPLITS_FORWARD = 1, SPLITS_INPUT_GRAD = 2;

/**
 * The passes of a convolution that may split by ranges of its batch now (conv2dBatchSplits'
 * answer): for ranges of at least the batch over every thread of the pool, the fewest images any
 * split of it takes, whatever the thread count a call picks. Where a range that small would take
 * another lowering, none.
 */
export function batchSplits(args: ConvArgs): number {
  const threads = rt().pool?.size ?? 1;
  return rt().kernels.conv2dBatchSplits(...args, Math.max(1, Math.floor(args[0] / threads)));
}

/** FLOPs of one pass (forward, input or weight gradient) of a convolution of these sizes: 2·N·O·OH·OW·(C/G)·KH·KW. */
export function convFlops(args: ConvArgs): number {
  const [N, C, , , O, KH, KW] = args, G = args[13], OH = args[14], OW = args[15];
  return 2 * N * O * OH * OW * (C / G) * KH * KW;
}

/** The threads a pass of `flops` FLOPs over a batch of N may take now: 1 without workers, for one image, or for a small pass. */
export function passThreads(N: number, flops: number): number {
  return splitThreads(N, flops, splitLimits.minConvFlops);
}

/**
 * A pass split by ranges of the batch (`pass`: SPLITS_FORWARD or SPLITS_INPUT_GRAD) in units
 * (unitRanges), each taken by whichever thread is free (overUnits): in whole chunks of its tiles
 * (conv2dBatchGranule images) but for the last, short ones, each of splitLimits.minConvFlops of
 * work at least, where the shortest takes the whole batch's lowering (conv2dBatchSplits), else a
 * range a thread: `share(start, count, thread)` as overBatch's. So no image's bits change: every
 * range of the batch at least so large gets the whole's.
 */
export function overBatchUnits(args: ConvArgs, threads: number, pass: number, share: (start: number, count: number, thread: number) => Task): number[] {
  const N = args[0], kernels = rt().kernels;
  const units = unitRanges(N, threads, kernels.conv2dBatchGranule(...args), Math.ceil((splitLimits.minConvFlops * N) / convFlops(args)));
  const fewest = Math.min(...units.map(([, count]) => count));
  const fine = units.length > threads && (kernels.conv2dBatchSplits(...args, fewest) & pass) !== 0;
  if (fine) splitCounts.batchUnits++;
  return overUnits(fine ? units : ranges(N, threads), threads, share);
}

/** A convolution's size arguments (conv2dForward's order) for `count` images. */
export function withBatch(args: ConvArgs, count: number): ConvArgs {
  const [, ...rest] = args;
  return [count, ...rest];
}

/** Floats of im2col scratch each of `threads` ranges of a batch of N needs (the first range is the longest). */
export function rangeColsFloats(args: ConvArgs, N: number, threads: number): number {
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
export function weightGradRanges(args: ConvArgs, flops: number): [number, number][] | null {
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
export function weightGradChannelRanges(args: ConvArgs, threads: number): [number, number][] {
  const O = args[4];
  return channelRanges(O, threads, O % 16 === 0 ? 16 : rt().kernels.conv2dWinogradWeightGrad(...args) !== 0 ? 8 : 4);
}

/**
 * The ranges [k0, count] of taps (of each group's Cg·KH·KW) the weight gradient of a convolution
 * of `flops` FLOPs may be split into over the threads ready now, where it runs by the flat pass
 * (conv2dWeightGradTapUnit), in whole blocks of that unit, the short last block evening them out;
 * or null where it stays on one thread. Every (output channel, tap) of the flat pass sums over
 * the batch and pixels in an order of its own, so any range gets the whole's bits, whatever O:
 * LeNet-5's conv1 (6 channels: by output channels in blocks of 4 only 4 + 2, refused) as 12 + 13
 * of its 25 taps, its conv2 (16 channels: one block of 16) as 76 + 74 of 150.
 *
 * Batch 64, relaxed SIMD, the layer's backwardDevice alternately in one process, median of 15,
 * under load (load average 4–5, this process's scheduling group at the top priority), with the
 * pool whose workers poll 1 ms before they sleep: 2 threads over 1, conv1's weight gradient
 * ×1.41–1.58 (×0.98–1.01 unsplit), conv2's alone ×1.81–1.83. The ranges on one thread each:
 * conv1's 0.46 and 0.56 of the whole (the second's leftover 25th tap runs the 4-row kernel twice
 * over 6 channels: splitting that tap by channels too would even them, ~0.02 ms; not done),
 * conv2's 0.49–0.52 each (each thread transposes dy's planes for itself). With the pool whose
 * workers sleep after 20000 polls (a hand-off ~0.16 ms under that load) conv1's split measured
 * ×0.79–0.83: the hand-off costs what the split saves. Where the VM's second core was itself
 * short (two busy processes ran at ×1.3 of one, load average 1.7), the polling pool too: conv1's
 * split ×0.85–0.87, conv2's backward ×0.92–0.97 split or beside.
 */
export function weightGradTapRanges(args: ConvArgs, flops: number): [number, number][] | null {
  const { pool, kernels } = rt();
  if (tapSplit.mode === 'off' || !pool || pool.size < 2 || flops < splitLimits.minConvFlops) return null;
  const unit = kernels.conv2dWeightGradTapUnit(...args);
  if (unit === 0) return null;
  const out = blockRanges((args[1] / args[13]) * args[5] * args[6], pool.size, unit);
  return out.length < 2 ? null : out;
}

/**
 * How a backward with dx whose weight gradient splits by taps runs: 'auto' by tapSplitsBoth's
 * rule, split in one hand-off (splitBackwardTaps) or dW ‖ dx; 'one' or 'beside' always so; 'both'
 * dW's ranges then dx's, two hand-offs (measured against 'one', not taken); 'off' no split by taps
 * (weightGradTapRanges). Tests and measurements set it; the library leaves it at 'auto'.
 */
export const tapSplit = { mode: 'auto' as 'auto' | 'one' | 'both' | 'beside' | 'off' };

/**
 * Whether a backward with dx whose weight gradient splits into `parts` ranges of taps runs split
 * by taps and by the batch, each thread its taps' dW then its images' dx (splitBackwardTaps, one
 * hand-off), rather than dW of the whole batch on the calling thread beside dx by ranges of the
 * batch on the workers (splitBackward, one hand-off). Split on 3 threads and more (beside them dW
 * would take one thread alone), on the channel lanes (dx costs ×1.22–1.48 of dW there), and with
 * one input channel a group (the flat dx's tiles of 2 channels compute a discarded one: dx ×1.7 of
 * dW on 1→6, 5×5 on 28×28); else dW ‖ dx.
 *
 * Layer backward at batch 64 on 2 threads over 1, alternating in one process, median of 11 (load
 * average 4–7, the pool polling 1 ms), dW ‖ dx / split in two hand-offs (dW's ranges, then dx's) /
 * split in one: channel lanes 6→16 5×5 on 14×14 (LeNet-5's conv2) ×1.59 / ×1.65, in three more
 * runs ×1.10–1.37 / ×1.78–1.83 / ×1.74–1.83 (batch 32 ×1.05–1.49 / ×1.60–1.68 / ×1.74), 3→16 3×3
 * on 17×15 ×1.53–1.61 / ×1.71–1.76 / ×1.81; flat 1→6 5×5 on 28×28 ×1.47 / ×1.73 (later runs at
 * load 6–7 ×0.90–1.19 all three); flat with 2–6 channels a group ×1.39–1.80 / ×1.04–1.51 on 5→7
 * 5×5 on 12×9, 6→6 3×3 on 14×12 (dilated, 2 groups too), 3→7 3×3 on 13×11, 2→5 5×5 on 9×10, where
 * one hand-off was within ±0.1 of two; but 6→6 5×5 on 14×14 ×1.78–1.84 / ×1.86–1.87 / ×1.88 (the
 * one this rule gets wrong): split, each thread pads x and dy for itself and the leftover taps'
 * kernel runs twice over. One hand-off against two: within the noise on the layers, the LeNet-5
 * step with the splits against without them ×1.02–1.03 with one, ×0.98–1.02 with two.
 */
export function tapSplitsBoth(args: ConvArgs, parts: number): boolean {
  if (tapSplit.mode !== 'auto') return tapSplit.mode !== 'beside';
  return parts > 2 || rt().kernels.conv2dWeightGradTapUnit(...args) === 2 || args[1] / args[13] === 1;
}

/**
 * The backward split by taps in one hand-off: thread t dw of `taps[t]` (and its share of db),
 * then dx of the t-th range of the batch (conv2dBackwardTaps, in its own `per` floats of `scratch`).
 */
export function splitBackwardTaps(
  x: number, w: number, dy: number, dw: number, db: number, dx: number, args: ConvArgs,
  taps: readonly [number, number][], scratch: number, per: number,
): void {
  const batch = ranges(args[0], taps.length);
  splitCounts.weightGradByTaps++;
  runTasks(taps.map(([k0, n], t): Task => {
    const [n0, count] = batch[t] ?? [0, 0];
    return { kernel: 'conv2dBackwardTaps', args: [x, w, dy, dw, db, dx, k0, k0 + n, n0, count, ...args, scratch + t * per * 4, gemmScratch(t)] };
  }));
}

/** Floats of scratch each range of weightGradTapRanges takes (a multiple of 16: each starts on a cache line). */
export function weightGradTapFloats(args: ConvArgs): number {
  return Math.ceil(rt().kernels.conv2dWeightGradTapsFloats(...args) / 16) * 16;
}

/**
 * The weight (and bias) gradient split by ranges of taps (weightGradTapRanges): each thread dw of
 * its taps for every output channel, and db of a share of the channels, summed over the whole
 * batch (conv2dWeightGradTaps, in its own `per` floats of `scratch`): the same bits as one thread.
 */
export function splitWeightGradTaps(
  x: number, dy: number, dw: number, db: number, args: ConvArgs, taps: readonly [number, number][], scratch: number, per: number,
): void {
  splitCounts.weightGradByTaps++;
  runTasks(taps.map(([k0, n], t): Task => ({ kernel: 'conv2dWeightGradTaps', args: [x, dy, dw, db, k0, k0 + n, ...args, scratch + t * per * 4] })));
}

/** How a Winograd weight gradient splits over threads (winogradWeightGradPlan). */
export interface WinogradWeightGradPlan {
  /**
   * The first pass: rows [r0, r1) of the transformed tile, chunks of tiles [k0, k1), the first
   * chunk's place among those kept apart (−1: into the sums). By rows a part a thread; by chunks
   * in units (unitRanges) taken by whichever thread is free, where there are more than threads.
   */
  parts: { r0: number; r1: number; k0: number; k1: number; apart: number }[];
  /** The second pass's ranges [o0, count] of output channels, one per thread. */
  channels: [number, number][];
  /** How many chunks' sums are kept apart, to add in order in the second pass. */
  apart: number;
  /** Floats of the shared sums, and of each chunk kept apart after them: 36 planes of O·C floats a cache line apart (conv2dWeightGradSumsFloats). */
  sums: number;
  /** The threads the plan is for: each has its own `per` floats of work. */
  threads: number;
  /** Floats of each thread's work (a multiple of 16). */
  per: number;
}

/**
 * How winogradWeightGradPlan splits: 'auto' by the cost below, 'rows' or 'chunks' always so (where
 * there are 2 chunks at least), 'off' by output channels as the other weight gradients
 * (weightGradRanges). Tests and measurements set it; the library leaves it at 'auto'. `units`:
 * by chunks in units (unitRanges: one thread takes the first, into the sums; every chunk after
 * it is kept apart) rather than a range a thread.
 *
 * Units against a range a thread, training steps on 2 threads at batch 64 alternating in one
 * process (a noisy 2-core EPYC VM), the median of each round's ratio: the VGG-style net ×0.99,
 * ×1.04, ×1.01 (beside a busy process ×1.02), ResNet-20 ×1.06, ×1.00, seed 003's net ×1.09. On
 * the VGG-style step the calling thread's wait in the sums' pass 2.6 → 1.7 ms, while the second
 * pass, which adds more chunks kept apart (28 rather than 16 at 32→32 on 32×32), took 3.4 → 4.2.
 */
export const weightGradSplit = { mode: 'auto' as 'off' | 'rows' | 'chunks' | 'auto', units: true };

/**
 * A thread's time on a range of rows over its share of the whole's: every row needs the whole
 * 6×6 patch loaded and its first product (Bᵀ d, δ Aᵀ) computed. One thread's two halves (rows
 * 0–2 and 3–5) against all six rows at batch 64: ×1.16 (32→32 on 32×32), ×1.15 (32→64 on 16×16),
 * ×1.10 (64→64 on 16×16), ×1.03 (64→128 on 8×8), median of 9.
 */
const ROW_SPLIT_COST = 1.15;

/**
 * The ranges [k0, count] of the chunks of tiles a weight gradient split by chunks runs as, over
 * `threads` threads, where no more than `budget` chunks may be kept apart (every chunk after the
 * first range's): in units (weightGradSplit.units), the first one long enough to keep the rest
 * within the budget, else a range a thread; all the chunks in one range where that cannot be.
 */
function chunkRanges(chunks: number, threads: number, budget: number): [number, number][] {
  const units = weightGradSplit.units ? unitRanges(chunks, threads, 1, 1) : ranges(chunks, threads);
  const first = Math.max(units[0][1], chunks - budget);
  if (first === units[0][1]) return units;
  if (first >= chunks || !weightGradSplit.units) return [[0, chunks]];
  return [[0, first], ...unitRanges(chunks - first, threads, 1, 1).map(([k0, n]): [number, number] => [first + k0, n])];
}

/**
 * The split of the weight gradient of a 3×3 convolution by 4×4 tiles of dy on 6×6 input patches
 * (conv2dWeightGradRowSplits) of `flops` FLOPs over the threads ready now, or null where it stays
 * on one thread or does not run so. First pass: units of the chunks of tiles (all rows of the
 * transformed tile; chunkRanges) or, where that pays less (ROW_SPLIT_COST), each thread a range of
 * the rows (all chunks): either way no transform of x or dy is done twice, as each range of
 * output channels did with x's. Second pass: each thread dw and db of a range of output channels.
 *
 * Batch 64, alternating in one process, median of 9–11. On a quiet machine (two runs), 2 threads
 * over 1, a range of chunks a thread: the weight gradient alone by chunks ×1.87–1.90 (32→32 on
 * 32×32), ×2.01–2.19 (32→64 on 16×16), ×1.90–1.94 (64→64 on 16×16), ×1.86–1.89 (64→128 on 8×8, 2
 * chunks); by rows ×1.75–1.83; by output channels ×1.56 / ×1.69–1.76 / ×1.62–1.67 / ×1.70–1.76.
 * The layers' backward (dx too, one run) ×1.73–1.82 against ×1.65–1.67; the VGG-style net's
 * training step ×1.69–1.73 against ×1.67–1.69 (three runs). Under load (2–4, four runs) chunks
 * against output channels still ×1.14–1.17 / ×1.02–1.07 / ×1.05–1.08 / ×0.96–1.02, and the CPU
 * time both threads spend (process.cpuUsage) over one thread's +6–12% against +11–31%.
 */
export function winogradWeightGradPlan(args: ConvArgs, flops: number): WinogradWeightGradPlan | null {
  const { pool, kernels } = rt();
  if (weightGradSplit.mode === 'off' || !pool || pool.size < 2 || flops < splitLimits.minConvFlops) return null;
  // 5×5 kernels (F(5×5,2×2)) keep their weight gradient whole on the calling thread while the
  // workers compute dx: 16→20 on 16×16 at batch 64 (ConvNetJS's), alternating in one process,
  // median of 11, three runs under load: ×1.06–1.08 faster than split so (three hand-offs).
  const n = args[5] === 3 ? kernels.conv2dWeightGradRowSplits(...args) : 0;
  if (n === 0) return null;
  const chunks = kernels.conv2dWeightGradChunks(...args), threads = pool.size, sums = kernels.conv2dWeightGradSumsFloats(args[4], args[1]);
  // By chunks where the longest share of chunks takes less than the longest range of rows would,
  // keeping apart no more memory than the split by channels took for its slices of dy
  // (N·O·OH·OW floats): on 8 threads 128→256 on 8×8 would keep 33 MB apart.
  const units = chunkRanges(chunks, threads, Math.floor((args[0] * args[4] * args[14] * args[15]) / sums));
  const first = units[0][1], longest = Math.max(first, Math.ceil(chunks / threads));
  const cheaper = longest / chunks <= (ROW_SPLIT_COST * Math.ceil(n / threads)) / n;
  const byChunks = chunks >= 2 && units.length >= 2 && (weightGradSplit.mode === 'chunks' || (weightGradSplit.mode === 'auto' && cheaper));
  const parts = byChunks
    ? units.map(([k0, count]) => ({ r0: 0, r1: n, k0, k1: k0 + count, apart: k0 === 0 ? -1 : k0 - first }))
    : ranges(n, threads).map(([r0, count]) => ({ r0, r1: r0 + count, k0: 0, k1: chunks, apart: -1 }));
  const channels = ranges(args[4], threads);
  const rows = Math.max(...parts.map((p) => p.r1 - p.r0));
  const per = Math.ceil(kernels.conv2dWeightGradRowsFloats(...args, rows) / 16) * 16;
  return { parts, channels, apart: byChunks ? chunks - first : 0, sums, threads, per };
}

/** Floats of scratch a winogradWeightGradPlan takes: the sums, each chunk's kept apart, then each thread's work. */
export function winogradWeightGradFloats(plan: WinogradWeightGradPlan): number {
  return sumsFloats(plan) + plan.per * plan.threads;
}

/** Floats of a winogradWeightGradPlan's sums and chunks kept apart, rounded up to a cache line. */
function sumsFloats(plan: WinogradWeightGradPlan): number {
  return Math.ceil((plan.sums * (1 + plan.apart)) / 16) * 16;
}

/**
 * The weight (and bias) gradient by a winogradWeightGradPlan in two passes over the threads: the sums
 * of each part (conv2dWeightGradPart), then dw and db of each range of output channels
 * (conv2dWeightGradFinish), in `scratch` (winogradWeightGradFloats): the same bits as one thread.
 */
export function splitWinogradWeightGrad(
  x: number, dy: number, dw: number, db: number, args: ConvArgs, plan: WinogradWeightGradPlan, scratch: number,
): void {
  const sums = scratch, apart = scratch + plan.sums * 4, work = (t: number) => scratch + (sumsFloats(plan) + t * plan.per) * 4;
  splitCounts.weightGradByParts++;
  const part = (p: WinogradWeightGradPlan['parts'][number], t: number): Task => ({
    kernel: 'conv2dWeightGradPart', args: [x, dy, sums, p.r0, p.r1, p.k0, p.k1, p.apart < 0 ? 0 : apart + p.apart * plan.sums * 4, ...args, work(t)],
  });
  if (plan.parts.length <= plan.threads) {
    runTasks(plan.parts.map(part));
  } else {
    splitCounts.weightGradUnits++;
    overUnits(plan.parts.map((_, i): [number, number] => [i, 1]), plan.threads, (i, _, t) => part(plan.parts[i], t));
  }
  runTasks(plan.channels.map(([o0, n], t): Task => ({
    kernel: 'conv2dWeightGradFinish', args: [sums, apart, plan.apart, dy, dw, db, o0, o0 + n, ...args, work(t)],
  })));
}

/** Floats of scratch a weight-gradient range of Oc channels takes: dy's planes of its channels, then the convolution's cols. */
export function weightGradRangeFloats(args: ConvArgs, Oc: number): number {
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
  w: number, dy: number, dx: number, args: ConvArgs, channels: readonly [number, number][], scratch: number, per: number,
): void {
  const tasks = channels.map(([c0, Cc], t): Task => ({ kernel: 'conv2dInputGradChannels', args: [w, dy, dx, c0, Cc, ...args, scratch + t * per * 4] }));
  splitCounts.inputGradByChannels++;
  runTasks(tasks);
}

/**
 * The output-channel ranges the forward of a batch-folded GEMM (conv2dForwardChannelSplits) of
 * `flops` FLOPs may be split into over the threads ready now, or null where it stays on one
 * thread: its GEMM's result follows the batch, so it splits by rows (output channels) instead.
 */
export function forwardChannelRanges(args: ConvArgs, flops: number): [number, number][] | null {
  const { pool, kernels } = rt();
  if (!pool || pool.size < 2 || flops < splitLimits.minConvFlops || kernels.conv2dForwardChannelSplits(...args) !== 1) return null;
  const out = channelRanges(args[4], pool.size);
  return out.length < 2 ? null : out;
}

/** Calls split so far, per kind of split (a test reads them to know a split ran). */
export const splitCounts = { weightGradByChannels: 0, weightGradByParts: 0, weightGradUnits: 0, weightGradByTaps: 0, depthwiseBackwardByChannels: 0, inputGradByChannels: 0, forwardByChannels: 0, batchUnits: 0 };

/**
 * The input-channel ranges a depthwise convolution's backward of `flops` FLOPs may be split into
 * over the threads ready now (conv2dDepthwiseSplits: the kernels on planes, channel by channel),
 * or null where it stays on one thread. Any batch, one image too: the ranges are of channels.
 */
export function depthwiseRanges(args: ConvArgs, flops: number): [number, number][] | null {
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
  x: number, w: number, dy: number, dw: number, db: number, dx: number, args: ConvArgs,
  channels: readonly [number, number][], scratch: number, per: number,
): void {
  const tasks = channels.map(([c0, Cc], t): Task => ({
    kernel: 'conv2dDepthwiseBackwardRange', args: [x, w, dy, dw, db, dx, c0, Cc, ...args, scratch + t * per * 4],
  }));
  splitCounts.depthwiseBackwardByChannels++;
  runTasks(tasks);
}

/**
 * The weight (and bias) gradient split by output channels: each thread the rows of dw (and db) of
 * its range, summed over the whole batch (conv2dWeightGradRange, in its own `per` floats of
 * `scratch`: no partial sums, the same bits as one thread).
 */
export function splitWeightGrad(
  x: number, w: number, dy: number, dw: number, db: number, args: ConvArgs,
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

/**
 * The input gradient alone by ranges of the batch over `threads` threads (conv2dInputGrad, each
 * range in its own `per` floats of `scratch`); with U (conv2dInputGradWeightsFloats floats, not 0
 * on this shape) the kernels transformed there once, then ranges of the pass in units taken by
 * whichever thread is free (conv2dInputGradPass, overBatchUnits).
 */
export function splitInputGrad(w: number, dy: number, dx: number, args: ConvArgs, threads: number, scratch: number, per: number, U = 0): void {
  const [, C, H, W, O] = args, OH = args[14], OW = args[15];
  if (U) {
    rt().kernels.conv2dInputGradWeights(w, U, ...args);
    overBatchUnits(args, threads, SPLITS_INPUT_GRAD, (start, count, t) => ({
      kernel: 'conv2dInputGradPass',
      args: [U, dy + start * O * OH * OW * 4, dx + start * C * H * W * 4, ...withBatch(args, count), scratch + t * per * 4],
    }));
    return;
  }
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
  x: number, w: number, dy: number, dw: number, db: number, dx: number, args: ConvArgs,
  threads: number, cols: number, rangeCols: number, rangeFloats: number,
): void {
  const [N, C, H, W, O] = args, OH = args[14], OW = args[15];
  const own: Task = { kernel: 'conv2dBackward', args: [x, w, dy, dw, db, 0, ...args, cols, gemmScratch(0)] };
  const shares = ranges(N, threads - 1).map(([start, count], i): Task => ({
    kernel: 'conv2dInputGrad',
    args: [w, dy + start * O * OH * OW * 4, dx + start * C * H * W * 4, ...withBatch(args, count),
      rangeCols + i * rangeFloats * 4, gemmScratch(i + 1)],
  }));
  runTasks([own, ...shares]);
}
