// Fusion of a layer with the ReLU or ReLU6 after it: a BatchNorm's affine (assembly/epilogue.ts),
// a convolution's output stores (assembly/conv.ts's conv2dForwardAct: Winograd's output
// transforms, the flat path's copy-out or channel-lane stores, the per-image GEMMs' tile stores,
// a sweep over each image's output right after the depthwise kernels; ts/layers/conv2d.ts), or a
// Linear's GEMM stores (assembly/gemm.ts's gemmAct, where the output has more rows than the
// weights have columns, so that the weights' snapshot costs less than the sweep it saves;
// ts/layers/linear.ts). In eval, a BatchNorm2d after such a convolution puts its affine into the
// convolution's output too (conv2dForwardAffine, DeferredConvAffine: image by image, the affine and
// the activation swept over each image's output while it is in cache), and a ReLU or ReLU6 after
// it takes both: Conv2d → BatchNorm2d → ReLU is one pass and one profile row
// ('3+4+5 Conv2d+BatchNorm2d+ReLU'), its input checks those of the separate layers with their
// Errors. Every layer still runs its own
// forward() — its frame, error path, graph node, hooks into the journal — but the first hands its
// output out unwritten (Block.defer), with what it reads of its parameters taken as a snapshot; an
// activation given that output has it computed straight into its own buffer, act(v) as each value
// is stored, in one pass. Whoever else reads the output gets it written first (Tensor.ptr; in a
// profile that time goes to the deferring layer's row), so nothing is found once per model or
// shape: the same works in a Sequential, in modules of one's own (ResNet's relu(bn1(conv1(x))))
// and for the functional sn.relu / sn.relu6. A layer puts its output off only when its input is
// a layer's result (re-issued, never written in place): a caller's tensor may be rewritten
// before the output is read.
//
// Sweeps over a Conv2d's output before → after, per forward: eval BatchNorm2d + ReLU 4 → 2 (the
// BatchNorm's input check, its apply, the ReLU's input check, the ReLU → the input check, one
// fused sweep); training 6 → 2 (check, mean, squared deviations, apply, check, ReLU → statistics
// with the check, one fused sweep); backward 3 → 2 (BatchNorm 2, ReLU 1 → the BatchNorm's two,
// which mask the ReLU's dy themselves: DeferredActGrad). The BatchNorm2d +
// ReLU6 forwards of a step at batch 64, relaxed build, fastest of 30 (.scratch/bn-sweeps.mjs):
// MobileNetV2 ×0.5 (52 BatchNorms) training 9.47 → 5.21 ms, eval 6.04 → 4.15 ms; ResNet-20's
// shapes (21) training 21.75 → 8.23 ms, eval 14.04 → 7.51 ms.
//
// Conv2d + ReLU: the ReLU's sweep (read and write of the output, with its input check) is gone;
// the check runs in the stores. Forward of the pair in model.profile, batch 64, relaxed build,
// best of 7, unfused → fused (.scratch/convfuse-rows.mjs, 2 shared cores at load 5): seed 003's
// CIFAR net 64→128 @32² (F(4×4)) 82.4 → 73.7 ms, 128→128 @16² 38.0 → 34.6 ms, 128→256 @8²
// (F(2×2)) 28.0 → 25.9 ms; ConvNetJS's 16→20 5×5 @16² (flat) 6.48 → 6.18 ms.
//
// Conv2d → BatchNorm2d (eval) → ReLU: the BatchNorm's input check (a read of the output) is gone,
// and its affine and the activation read and write each image's output while it is in cache
// instead of the whole batch's from memory. The convolution's output is conv2dForward's bit for
// bit, and the affine channelAffineAct's (the BatchNorm's own kernel), so the result is the
// separate layers' bit for bit. Process CPU time (steadier than wall time on 2 cores shared at
// load 11), batch 64, relaxed build, median of 7 alternating in one process. The three layers'
// forward (.scratch/fuse2-shapes.mjs), separate (convolution, check, BatchNorm + ReLU sweep) →
// fused: ResNet-20 16→16 @32² (F(4×4)) 4.45 → 3.79 ms, 32→32 @16² 3.62 → 2.88, 64→64 @8² (F(2×2))
// 3.75 → 3.33, 16→32 stride 2 (im2col) 5.27 → 4.99; VGG-style 32→32 @32² 12.54 → 10.48 ms;
// MobileNetV2 ×0.5 8→48 1×1 @16² 1.38 → 0.84 ms, depthwise 96 3×3 @8² 0.62 → 0.52 ms. Whole nets
// (.scratch/fuse2-bench3.mjs), this step on against fusion without it: eval forward ResNet-20
// 91.4 → 84.2 ms (×0.92), VGG-style 46.3 → 41.5 ms (×0.90), MobileNetV2 19.2 → 17.3 ms (×0.90);
// a training step is unchanged (×0.97–1.03, the spread between runs: a training BatchNorm needs
// its batch statistics of the convolution's output first). MobileNetV2's convolutions on maps
// of at most 64 pixels fold the batch into one GEMM: there the affine is one sweep over the
// batch's output after it, which saves only the BatchNorm's check — 0.49 → 0.39 ms for 16→96 @8²,
// 0.14 → 0.10 ms for 480→80 @1², ×0.72–1.08 over its 16 such layers, within the whole net's spread.
import { rt } from '../runtime/index.js';
import { splitLimits, overRanges, splitThreads, sweep } from '../runtime/split.js';
import { profiler } from '../autograd/state.js';
import type { Block, BlockOwner, DeferredResult } from '../runtime/block.js';
import type { Tensor } from '../tensor.js';

/** The activation codes of channelAffineAct and activationChecked. */
export const ACT_NONE = 0, ACT_RELU = 1, ACT_RELU6 = 2;

let enabled = true;

/**
 * Switches fusion on (the default) or off, for tests comparing the fused layers with the separate
 * ones (simdnet/internal; not part of the stable API); returns the previous setting.
 */
export function setFusion(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** @internal Whether a BatchNorm may hand its output out unwritten. */
export function fusionEnabled(): boolean { return enabled; }

/**
 * A layer's output put off (Block.defer) that an activation after it can compute in its own
 * store instead: `apply(out, act)` writes act(result) to `out` in one pass and returns how many
 * values before the activation are NaN or infinite; `run()` writes the result itself.
 */
export abstract class FusableResult implements DeferredResult {
  /** The profile row of the put-off call, when a profile is running (the fused row's name starts there). */
  row: string | null = null;

  constructor(
    /** The blocks the result is computed from. */
    readonly sources: readonly Block[],
    /** Its output, whose block this result belongs to. */
    readonly y: Tensor) {}

  /** Writes act(result) to `out` (act ACT_RELU or ACT_RELU6); returns how many values before the activation are NaN or infinite. */
  abstract apply(out: number, act: number): number;

  /** Whether withAffine takes an eval BatchNorm2d's affine into this result's stores (a convolution's). */
  get takesAffine(): boolean { return false; }

  /**
   * This result with an eval BatchNorm2d's affine applied as it is stored, as the BatchNorm's own
   * put-off output `y`: coef as batchNormCoefficients writes it (a snapshot in the BatchNorm's
   * scratch); `refuse(count)` is the BatchNorm's Error for `count` non-finite values in its input
   * (this result), thrown when the fused result is computed. Only where takesAffine says so.
   */
  withAffine(_coef: number, _y: Tensor, _refuse: (count: number) => Error): FusableResult {
    throw new Error('simdnet: this result takes no affine');
  }
  /** Writes the result to its own output. */
  protected abstract write(): void;

  /**
   * Writes the result to its own output, for a reader other than a fusing activation. In a
   * profile its time goes to the row of the layer that put it off, not to the reader's.
   */
  run(): void {
    const p = profiler;
    if (!p || this.row === null) { this.write(); return; }
    const start = performance.now();
    this.write();
    const ms = performance.now() - start;
    p.deferredMs += ms;
    p.forward(this.row, this.row, 'deferred', ms);
  }
}

/** BatchNorm's passes split over threads so far, per sweep (a test reads them to know a split ran). */
export const batchNormSplits = { stats: 0, affine: 0, backward: 0 };

/** A BatchNorm's output put off: y = (x − mean)·scale + shift, from its input and a snapshot of the coefficients. */
export class DeferredAffine extends FusableResult {
  constructor(
    /** The layer whose output this is. */
    readonly owner: BlockOwner,
    /** Its input, as it ran (a layer's result: it is re-issued, never written in place). */
    readonly x: Tensor,
    y: Tensor,
    /** [mean[C], scale[C], shift[C]] (batchNormCoefficients), in the layer's scratch. */
    readonly coef: number,
    readonly N: number, readonly C: number, readonly L: number) {
    super([x.block!], y);
  }

  protected write(): void { this.apply(this.y.address, ACT_NONE); }

  /** Writes act(affine(x)) to `out`; returns how many values before the activation are NaN or infinite. */
  apply(out: number, act: number): number {
    const { N, C, L, coef } = this, x = this.x.ptr, plane = C * L * 4;
    // Value by value, so ranges of the batch over threads give the same bits as one sweep.
    const threads = splitThreads(N, 2 * N * plane, splitLimits.minBytes);
    if (threads === 1) return rt().kernels.channelAffineAct(x, out, coef, N, C, L, act);
    batchNormSplits.affine++;
    const bad = overRanges(N, threads, (start, count) => ({
      kernel: 'channelAffineAct', args: [x + start * plane, out + start * plane, coef, count, C, L, act],
    }));
    return bad.reduce((a, b) => a + b, 0);
  }
}

/**
 * The input gradient of a ReLU or ReLU6 that took a BatchNorm's put-off output in its forward
 * (DeferredAffine), put off in turn: the BatchNorm's backward, given it, masks the activation's
 * own dy in its two sweeps (batchNormBackward's act) instead, so the activation's sweep (read its
 * output and dy, write dx: 12 bytes a value) is not made. Anyone else reading it (a second use of
 * the BatchNorm's output, whose gradients add up) gets it written first, as is a source about to
 * change (until the BatchNorm has used it). Backward of a VGG-style net's five BatchNorm2d + ReLU
 * pairs at batch 64, raw kernels alternating in one process, median of 41:
 * ReLU sweep then BatchNorm 14.9–16.2 ms → BatchNorm masking dy 11.5–12.8 ms, ×1.27–1.31
 * (relaxed build), ×1.25 (plain); the same bits.
 */
export class DeferredActGrad implements DeferredResult {
  /**
   * Until the BatchNorm's backward has used it; after that, nothing needs it (its layer's
   * gradient, read by nobody), and writing it when its sources change would cost the sweep the
   * fusion saves: it is dropped then, a read after that refused as stale.
   */
  writtenBeforeSourcesChange = true;
  readonly expiry = () => 'was never written: the BatchNorm before the activation that made it took its gradient in its ' +
    'own backward instead, and the next forward() has replaced what it would be computed from; read it before that';
  constructor(
    /** The BatchNorm's put-off output the activation computed from. */
    readonly affine: DeferredAffine,
    /** ACT_RELU or ACT_RELU6. */
    readonly act: number,
    /** The activation's output gradient (what its backward was given). */
    readonly dy: Tensor,
    /** Its input gradient, this result's tensor. */
    readonly dx: Tensor,
    /** Writes dx (the activation's own backward sweep). */
    private readonly write: () => void,
    /** dy's block and the block the write reads the mask from. */
    readonly sources: readonly Block[]) {}

  run(): void { this.write(); }
}

/**
 * @internal The put-off output (a BatchNorm's, or a convolution's whose stores take the
 * activation) that `x` is, all of it and still current, or null: an activation given it may
 * compute it in its own store instead.
 */
export function fusableResult(x: Tensor): FusableResult | null {
  const b = x.block;
  const d = b?.deferred;
  if (!(d instanceof FusableResult) || x.generation !== b!.generation) return null;
  return x.address === d.y.address && x.size === d.y.size ? d : null;
}

/** BatchNorm backward passes that took the activation's gradient put off (a test reads it to know the fusion ran). */
export const actGradFusions = { count: 0 };

/**
 * @internal The input gradient dx of a ReLU or ReLU6 (`act`) whose forward computed its output
 * `y` from `fused`: put off (DeferredActGrad) when that was a BatchNorm's output and dy and y
 * live in wasm blocks, else written now by `write` (which must write to dx.address).
 */
export function activationGrad(fused: FusableResult | null, act: number, dy: Tensor, dx: Tensor, y: Tensor, write: () => void): void {
  if (fused instanceof DeferredAffine && enabled && dy.block && y.block) {
    dx.block!.defer(new DeferredActGrad(fused, act, dy, dx, write, [dy.block, y.block]));
    return;
  }
  write();
}

/**
 * @internal The put-off activation gradient `dy` is, all of it and still current, when the
 * activation computed its output from `affine`; else null.
 */
export function deferredActGrad(dy: Tensor, affine: DeferredAffine | null): DeferredActGrad | null {
  const b = dy.block;
  const d = b?.deferred;
  if (affine === null || !(d instanceof DeferredActGrad) || d.affine !== affine || dy.generation !== b!.generation) return null;
  return dy.address === d.dx.address && dy.size === d.dx.size ? d : null;
}

/**
 * @internal y = act(x) for ReLU (ACT_RELU) or ReLU6 (ACT_RELU6), in one sweep with the input's
 * NaN/infinity check: computed by the layer before when x is its put-off output (fused), else
 * from x. Returns the put-off result it fused with (or null), and the count of non-finite inputs.
 */
export function activate(x: Tensor, y: Tensor, act: number): { fused: FusableResult | null; bad: number } {
  const d = fusableResult(x);
  if (d) return { fused: d, bad: d.apply(y.ptr, act) };
  const xp = x.ptr, yp = y.ptr;
  return { fused: null, bad: sweep(x.size, 8, (o, n) => ({ kernel: 'activationChecked', args: [xp + o, yp + o, n, act] })) };
}
