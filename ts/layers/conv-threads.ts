// A convolution's passes over several threads (runtime/threads.ts). The forward and the input
// gradient split the batch into ranges, one per thread, on the lowerings where each image gets
// the same bits whatever range it runs in (conv2dBatchSplits: all but the batch-folded GEMMs; the
// input gradient alone not on the depthwise kernels, whose backward interleaves it with the
// weight gradient). The weight gradient of the whole batch runs on the calling thread meanwhile,
// as on one thread. So no result depends on the thread count, and a worker still starting up
// just takes no range.
import { gemmScratch, rt } from '../runtime/index.js';
import { ranges, type Task } from '../runtime/threads.js';

/**
 * Below this many FLOPs a pass stays on one thread: a hand-off measured 25 µs with the workers
 * spinning, 60–90 µs from Atomics.wait, against ~0.4 ms for 2·10⁷ FLOPs at this machine's wasm peak.
 */
export const MIN_SPLIT_FLOPS = 2e7;

/** conv2dBatchSplits' answers: the forward may be split by the batch; so may the input gradient alone. */
export const SPLITS_FORWARD = 1, SPLITS_INPUT_GRAD = 2;

/** The threads a pass of `flops` FLOPs over a batch of N may take now: 1 without workers, for one image, or for a small pass. */
export function passThreads(N: number, flops: number): number {
  const pool = rt().pool;
  if (!pool || N < 2 || flops < MIN_SPLIT_FLOPS) return 1;
  return Math.min(pool.size, N);
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
  const tasks = ranges(N, threads).map(([start, count], t) => share(start, count, t));
  const { pool, kernels } = rt();
  // Fewer workers ready than when the shares were planned (setNumThreads in between): the same
  // shares one after another, each in its own scratch.
  if (!pool || pool.size < tasks.length) return tasks.map((t) => kernels[t.kernel](...t.args));
  return pool.run(tasks);
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
