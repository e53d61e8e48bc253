// ReLU: y = max(x, 0).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';
import { ACT_RELU } from './epilogue.js';
import { registerLayer } from '../registry.js';
import { blockRanges } from '../runtime/threads.js';
import { runTasks, splitLimits, splitThreads } from '../runtime/split.js';

/** How many ReLU backward passes ran split over threads (tests read it). */
export const reluSplits = { count: 0 };

/**
 * The rectified linear unit, as torch.nn.ReLU: y = max(x, 0), element by element.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Linear(784, 128), new sn.ReLU(), new sn.Linear(128, 10));
 * ```
 */
export class ReLU extends Elementwise {
  override toString(): string { return 'ReLU()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  /** @internal */
  protected override apply(x: number, y: number, n: number): void { rt().kernels.reluForward(x, y, n); }

  /** @internal */
  protected override readonly epilogueAct: number = ACT_RELU;

  /**
   * @internal From the input, or from the output's sign after a fused call (the same mask, bit for
   * bit). A pass of splitLimits.minBytes or more (it reads the mask's source and dy and writes dx:
   * 12 bytes a value) splits into ranges of whole cache lines, 16 values, over the threads: each
   * value is the kernel's alone, and every range but the last a multiple of 4 values, so the
   * values past the last whole vector are the same as on one thread (the VGG-style net's first
   * BatchNorm2d+ReLU backward at batch 64, 8 MB a tensor, ran ×1.56 on 2 threads with it). After a
   * BatchNorm whose output the forward took in its own sweep, this runs only when something
   * other than the BatchNorm's backward reads dx: the BatchNorm masks dy itself (DeferredActGrad).
   */
  protected override applyBackward(x: Tensor, y: Tensor, dy: number, dx: number, n: number): void {
    const src = (this.fused ? y : x).ptr;
    const parts = blockRanges(n, splitThreads(n, 12 * n, splitLimits.minBytes), 16);
    if (parts.length === 1) {
      rt().kernels.reluBackward(src, dy, dx, n);
      return;
    }
    reluSplits.count++;
    runTasks(parts.map(([start, count]) => ({ kernel: 'reluBackward', args: [src + 4 * start, dy + 4 * start, dx + 4 * start, count] })));
  }
}

registerLayer({ typeName: 'ReLU', ctor: ReLU, fields: {}, build: () => new ReLU() });
