// Fusion of a BatchNorm with the ReLU or ReLU6 after it (assembly/epilogue.ts). Every layer still
// runs its own forward() — its frame, error path, graph node, hooks into the journal — but a
// BatchNorm hands its output out unwritten (Block.defer), with its per-channel affine taken as a
// snapshot; an activation given that output computes act((x − mean)·scale + shift) straight from
// the BatchNorm's input into its own buffer, in one sweep. Whoever else reads the BatchNorm's
// output gets it written first (Tensor.ptr), so nothing is found once per model or shape: the
// same works in a Sequential, in modules of one's own (ResNet's relu(bn1(conv1(x)))) and for the
// functional sn.relu / sn.relu6. The convolution before is untouched: its kernels (and where
// they add the bias) belong to assembly/conv*.ts.
//
// Sweeps over a Conv2d's output before → after, per forward: eval BatchNorm2d + ReLU 4 → 2 (the
// BatchNorm's input check, its apply, the ReLU's input check, the ReLU → the input check, one
// fused sweep); training 6 → 2 (check, mean, squared deviations, apply, check, ReLU → statistics
// with the check, one fused sweep); backward unchanged (BatchNorm 2, ReLU 1). The BatchNorm2d +
// ReLU6 forwards of a step at batch 64, relaxed build, fastest of 30 (.scratch/bn-sweeps.mjs):
// MobileNetV2 ×0.5 (52 BatchNorms) training 9.47 → 5.21 ms, eval 6.04 → 4.15 ms; ResNet-20's
// shapes (21) training 21.75 → 8.23 ms, eval 14.04 → 7.51 ms.
import { rt } from '../runtime/index.js';
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

/** A BatchNorm's output put off: y = (x − mean)·scale + shift, from its input and a snapshot of the coefficients. */
export class DeferredAffine implements DeferredResult {
  readonly sources: readonly Block[];
  /** The profile row of the BatchNorm's call, when a profile is running (the fused row's name starts there). */
  row: string | null = null;

  constructor(
    /** The layer whose output this is. */
    readonly owner: BlockOwner,
    /** Its input, as it ran (a layer's result: it is re-issued, never written in place). */
    readonly x: Tensor,
    /** Its output, whose block this result belongs to. */
    readonly y: Tensor,
    /** [mean[C], scale[C], shift[C]] (batchNormCoefficients), in the layer's scratch. */
    readonly coef: number,
    readonly N: number, readonly C: number, readonly L: number) {
    this.sources = [x.block!];
  }

  run(): void { this.apply(this.y.address, ACT_NONE); }

  /** Writes act(affine(x)) to `out`; returns how many values before the activation are NaN or infinite. */
  apply(out: number, act: number): number {
    return rt().kernels.channelAffineAct(this.x.ptr, out, this.coef, this.N, this.C, this.L, act);
  }
}

/**
 * @internal The put-off BatchNorm output that `x` is, all of it and still current, or null: an
 * activation given it may compute from the BatchNorm's input instead.
 */
export function deferredAffine(x: Tensor): DeferredAffine | null {
  const b = x.block;
  const d = b?.deferred;
  if (!(d instanceof DeferredAffine) || x.generation !== b!.generation) return null;
  return x.address === d.y.address && x.size === d.y.size ? d : null;
}

/**
 * @internal y = act(x) for ReLU (ACT_RELU) or ReLU6 (ACT_RELU6), in one sweep with the input's
 * NaN/infinity check: from a put-off BatchNorm output's own input when x is one (fused), else
 * from x. Returns the BatchNorm's result it fused with (or null), and the count of non-finite inputs.
 */
export function activate(x: Tensor, y: Tensor, act: number): { fused: DeferredAffine | null; bad: number } {
  const d = deferredAffine(x);
  if (d) return { fused: d, bad: d.apply(y.ptr, act) };
  return { fused: null, bad: rt().kernels.activationChecked(x.ptr, y.ptr, x.size, act) };
}
