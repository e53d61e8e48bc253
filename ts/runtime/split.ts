// A kernel's pass split into ranges over the threads of the pool (threads.ts): how many threads a
// pass may take, and running one task per range, on the workers when they are there. Shared by
// the convolutions (layers/conv-threads.ts), BatchNorm (layers/batchnorm.ts), the element-wise
// kernels (sweep: activations, sums, products, the modules' input checks) and others.
import { rt } from './wasm.js';
import { blockRanges, MAX_UNITS, ranges, runKernel, type Task, type ThreadArg } from './threads.js';

/**
 * The sizes below which a pass stays on one thread: an eighth of what they were measured at one
 * by one against a pool whose workers slept after ~20 µs (the figures below). Since then the
 * workers poll 1 ms for their next task (a hand-off inside a training step ~12 µs, not 60–400 µs)
 * and the calling thread takes back a share no worker has started (threads.ts), so small passes
 * pay. 2 threads ÷ 1, training steps at batch 64 in blocks of 5–20 steps alternating in one
 * process, these limits against 8 times these (as they were): MobileNetV2 ×0.5 ×1.25 / ×1.10,
 * ×1.05 / ×0.89 (a 32nd: ×1.10), LeNet-5 ×1.18 / ×1.11, ×1.19 / ×1.15, ResNet-20 ×1.60 / ×1.56,
 * the VGG-style net ×1.61 / ×1.62, ConvNetJS's net ×1.18 / ×1.22; alternating step by step,
 * MobileNetV2 with a quarter ×1.11 / ×1.00 and LeNet-5 ×1.36 / ×1.21. The cost is on a machine
 * without a free core: beside a process spinning on one core LeNet-5 ×0.58 / ×0.68 and
 * MobileNetV2 ×0.66 / ×0.76 (the VGG-style net ×0.87 / ×0.85), where one thread is the faster
 * choice anyway. Tests lower them to split small shapes.
 *
 * Below `minBytes` read and written a memory-bound pass (BatchNorm's sweeps, pooling) stays on
 * one thread; one thread sweeps 8–18 GB/s here.
 */
export const splitLimits = {
  minBytes: 256 << 10,
  /**
   * minBytes for an element-wise kernel (sweep()), whose work per byte is least. Split over 2
   * threads vs whole, alternately in one process, the input just written by the calling thread:
   * an add of two tensors 0.75 / 1.5 / 3 / 6 MB read and written ×0.74 / ×1.02 / ×1.25 / ×1.46,
   * ReLU's forward 0.5 / 1 / 2 / 4 MB ×1.10 / ×1.41 / ×1.70 / ×1.87 (bench/RESULTS.md).
   */
  minSweepBytes: 1 << 20,
  /**
   * Below this many FLOPs a GEMM split by rows (layers/gemm-threads.ts: Linear) stays on one
   * thread. A Linear's forward / dW / dx over 2 threads vs whole, alternately in one process,
   * median of 15 rounds, while the machine was otherwise idle, workers sleeping after ~20 µs:
   * 6 MFLOPs (LeNet-5's 400→120 at batch 64) ×0.98–1.23 / ×0.87–1.21 / ×0.88–1.04; 9–13 MFLOPs
   * ×1.12–1.85 / ×1.07–1.60 / ×0.98–1.41; 25 MFLOPs ×1.79–1.94 / ×1.67–1.93 / ×1.70–1.75.
   */
  minGemmFlops: 625e3,
  /**
   * Below this many FLOPs a convolution's pass stays on one thread. Against workers that slept,
   * a hand-off cost 60–90 µs from Atomics.wait, against ~0.4 ms for 2·10⁷ FLOPs at this machine's
   * wasm peak.
   */
  minConvFlops: 1.25e6,
  /**
   * minConvFlops for a depthwise convolution's backward: the same time in fewer FLOPs (MobileNetV2's
   * depthwise shapes at batch 64 ran ~12 GFLOP/s against ~42 for its batch-folded pointwise GEMMs).
   */
  minDepthwiseFlops: 375e3,
};

/**
 * How a pass split in units (conv-threads.ts's overBatchUnits: a convolution's forward and input
 * gradient by ranges of the batch) cuts its work, each unit taken by whichever thread is free
 * (unitRanges): the smaller the last units, the less a thread slowed by the machine holds the
 * others up; the more units, the more calls and partial tiles of work. Measurements and tests
 * set it.
 *
 * `perThread` even units a thread (1: a range a thread, as the other passes); with `guide` > 0,
 * after those that leave more than guide·threads units' worth, each unit a guide·threads-th of
 * the work left, so the last ones are short.
 *
 * Even: with a range a thread, the calling thread waited for the worker's share after its own for
 * 7–12% of the VGG-style net's training step on 2 threads (batch 64, a 2-core EPYC VM whose speed
 * swung by a third within minutes), and the worker finished first in about half of the calls: the
 * threads' speeds vary call by call. Training steps on 2 threads, blocks of 3–4 steps (LeNet-5:
 * 40) alternating in one process, the median of each round's ratio, ms a step with 1 unit a thread
 * ÷ with 4: the VGG-style net ×1.08, ×1.11, ×1.04, ×1.03 (beside a process keeping a core busy
 * ×1.09), ResNet-20 ×1.03, LeNet-5 ×1.02, ×1.00; with 4 ÷ with 8: the VGG-style net ×0.97–1.07 in
 * five runs, ResNet-20 ×1.03 twice: within the noise (8 threads take 32 units of a batch of 64).
 *
 * Guided, as measured the same way, 4 even units a thread ÷ guide 2 after them: the VGG-style
 * net ×1.02, ×0.99, ×1.02 beside a busy process, ResNet-20 ×1.01, MobileNetV2 ×1.05,
 * LeNet-5 ×1.01, ×1.02; the calling thread's wait in every split call of the VGG-style step 5.6% →
 * 4.3%, 8.0% → 6.2%. Guided from the first unit (the first 16 images of 64, not 8) the VGG-style
 * net gained ×1.00–1.08 in six runs, but LeNet-5 lost, ×0.96–0.98 in three (not looked into
 * further).
 */
export const unitSplit = { perThread: 4, guide: 2 };

/**
 * The ranges [start, count] of [0, n) a pass split in units runs over `threads` threads
 * (unitSplit), in order: none fewer than `fewest` items, none longer than the even units (each a
 * multiple of `block` items, at least `fewest`; unitSplit.perThread a thread) nor than the longest
 * of ranges(n, threads) (what each thread's scratch was sized for), at most MAX_UNITS; a range a
 * thread where units that long leave no more. Guided (unitSplit.guide > 0), each unit
 * ⌈left / (guide · threads)⌉ items, in whole blocks while that is a block or more, but no longer
 * than the even ones: a thread that takes its last unit late leaves the others a short wait. A
 * batch of 64 by 1 image (`block` 1) over 2 threads: even 8 × 8; guide 2: 8, 8, 8, 8, 8, 6, 5, 4,
 * 3, 2, 1, 1, 1, 1.
 */
export function unitRanges(n: number, threads: number, block: number, fewest: number): [number, number][] {
  const least = Math.max(block, Math.ceil(fewest / block) * block), most = Math.ceil(n / Math.max(1, threads));
  if (least > most) return ranges(n, threads);
  const even = ranges(n, Math.min(threads * unitSplit.perThread, Math.floor(n / least), MAX_UNITS));
  if (unitSplit.guide <= 0) return even;
  // No unit longer than the even ones (guided from the first unit, LeNet-5 lost: unitSplit); the
  // last ones shorter, down to `fewest` items, in whole blocks while they are a block or more.
  const cap = Math.min(most, even[0][1]), tail = Math.max(1, fewest);
  const out: [number, number][] = [];
  for (let start = 0; start < n;) {
    const left = n - start, want = Math.ceil(left / (unitSplit.guide * threads));
    let count = Math.min(cap, Math.max(tail, want >= block ? Math.ceil(want / block) * block : want));
    // What would be left is too short for a unit of its own: this one takes it, unless that
    // makes it too long (then even units).
    if (left - count < tail) count = left;
    if (count > cap || out.length === MAX_UNITS) return even;
    out.push([start, count]);
    start += count;
  }
  return out;
}

/**
 * The threads a pass over `units` independent parts (images, channels) may take now: 1 without
 * workers, for one part, or while `work` (FLOPs, bytes: whatever `min` counts) is below `min`.
 */
export function splitThreads(units: number, work: number, min: number): number {
  const pool = rt().pool;
  if (!pool || units < 2 || work < min) return 1;
  return Math.min(pool.size, units);
}

/**
 * Runs `share(start, count, thread)`'s task for each range of [0, n) over `threads` threads
 * (thread 0 the calling one) and returns what each returned, in range order.
 */
export function overRanges(n: number, threads: number, share: (start: number, count: number, thread: number) => Task): number[] {
  return runTasks(ranges(n, threads).map(([start, count], t) => share(start, count, t)));
}

/**
 * Runs `share(start, count, thread)`'s task for each of the ranges `parts` (at most MAX_UNITS;
 * unitRanges) over `threads` threads, each thread taking the next range as soon as it is free
 * (ThreadPool.runUnits), and returns what each returned, in range order. The arguments that
 * depend on the thread (its stretch of a scratch) are those where the first range's task on
 * thread t differs from its task on thread 0; share must give every range the same such
 * arguments. Whichever thread runs a range, its task is the same but for those, so the results
 * are the same on any thread count where the ranges are.
 */
export function overUnits(parts: readonly [number, number][], threads: number, share: (start: number, count: number, thread: number) => Task): number[] {
  const { pool, kernels } = rt();
  const tasks = parts.map(([start, count]) => share(start, count, 0));
  if (!pool || threads < 2 || tasks.length < 2) return tasks.map((t) => runKernel(kernels, t));
  const [start, count] = parts[0];
  const firsts = Array.from({ length: threads }, (_, t) => (t === 0 ? tasks[0] : share(start, count, t)).args as readonly number[]);
  const threadArgs: ThreadArg[] = [];
  firsts[0].forEach((v, i) => {
    if (firsts.some((a) => a[i] !== v)) threadArgs.push([i, firsts.map((a) => a[i])]);
  });
  return pool.runUnits(tasks, threads, threadArgs);
}

/**
 * Runs tasks[0] on the calling thread and the others on the workers, all at once, and returns
 * what each returned. With fewer workers ready than when the tasks were planned (setNumThreads in
 * between), the same tasks run one after another here, so the result does not change.
 *
 * Every pass the split limits allow runs split. Timing each such pass both ways and keeping the
 * faster (its first 8 calls alternating split and whole, again every 256 calls) was tried and
 * removed: once the calling thread took back the shares no worker had started (threads.ts), it
 * gained nothing beyond the noise, with nothing else running or beside a process spinning on one
 * core (training steps alternately in one process, 2 threads ÷ 1 timed / split: LeNet-5 ×1.28 /
 * ×1.25 and ×0.83 / ×0.77 beside the busy process, the VGG-style net ×1.67 / ×1.72 and ×0.86 /
 * ×0.91, ResNet-20 ×1.49 / ×1.56 and ×0.95 / ×0.92, MobileNetV2 ×0.5 ×1.07 / ×0.99 and ×0.84 /
 * ×0.78), while a trial the VM's noise misled kept a pass whole for 256 calls: a 16→16 3×3
 * convolution's forward alone at ×0.97 of one thread where it splits at ×1.78.
 */
export function runTasks(tasks: readonly Task[]): number[] {
  const { pool, kernels } = rt();
  if (!pool || pool.size < tasks.length) return tasks.map((t) => runKernel(kernels, t));
  return pool.run(tasks);
}

/** Per kernel, how many sweeps (sweep()) ran split over threads: tests read it to know a split ran. */
export const sweepSplits: Record<string, number> = {};

/**
 * Runs an elementwise kernel over n floats: `task(offset, count)` is its call on `count` values
 * from byte `offset` of each of its arrays. From splitLimits.minSweepBytes of memory traffic
 * (`bytesPerValue`·n: what it reads and writes) each thread takes a range of whole cache lines,
 * 16 values, the short one last: each value is the kernel's alone, and a range starting on a
 * multiple of 4 puts every value in the vector loop or the scalar tail as the whole sweep does,
 * so the bits are the same on any thread count. Returns the sum of what the ranges returned
 * (a count of non-finite values), or the whole call's.
 *
 * Alone, 2 threads over 1 with the input just written by the calling thread: a residual add
 * ×1.25 / ×1.46 / ×1.34 on 1 / 2 / 4 MB tensors, ReLU's forward ×1.70 / ×1.87 / ×1.28 (and ×0.74–1.10
 * on 0.25 MB ones, under the limit). Unsplit, ResNet-20's residual adds, the ReLU after each and
 * its backward's gradient sums were 5–7% of its training step on 2 threads, on the calling thread.
 */
export function sweep(n: number, bytesPerValue: number, task: (offset: number, count: number) => Task): number {
  const threads = splitThreads(Math.ceil(n / 16), bytesPerValue * n, splitLimits.minSweepBytes);
  if (threads === 1) return runKernel(rt().kernels, task(0, n));
  const parts = blockRanges(n, threads, 16).map(([start, count]) => task(4 * start, count));
  sweepSplits[parts[0].kernel] = (sweepSplits[parts[0].kernel] ?? 0) + 1;
  return runTasks(parts).reduce((a, b) => a + b, 0);
}

/** y = a + b over n floats by sweep() (y may be a or b): same-shaped sn.add, and a tensor's first two gradients summed. */
export function addFlat(a: number, b: number, y: number, n: number): void {
  sweep(n, 12, (o, count) => ({ kernel: 'addForward', args: [a + o, b + o, y + o, count] }));
}

/**
 * How many of the n floats at p are NaN or infinite (every layer's input check), by sweep(): the
 * one sweep over a large input once left on the calling thread, ~0.35 ms for the VGG-style net's
 * 32×32×32 maps at batch 64, 2.4 ms of its ~120 ms training step on 2 threads.
 */
export function countNonFinite(p: number, n: number): number {
  return sweep(n, 4, (o, count) => ({ kernel: 'countNonFinite', args: [p + o, count] }));
}
