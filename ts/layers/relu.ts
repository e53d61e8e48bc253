// ReLU: y = max(x, 0).
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
import { ACT_RELU } from './epilogue.js';
import { registerLayer } from '../registry.js';

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
  protected override forwardTask(x: number, y: number, n: number): Task { return { kernel: 'reluForward', args: [x, y, n] }; }

  /** @internal */
  protected override readonly epilogueAct: number = ACT_RELU;

  /**
   * @internal From the input, or from the output's sign after a fused call (the same mask, bit for
   * bit). Over threads from splitLimits.minSweepBytes (sweep: it reads the mask's source and dy and
   * writes dx, 12 bytes a value): the VGG-style net's first BatchNorm2d+ReLU backward at batch 64,
   * 8 MB a tensor, ran ×1.56 on 2 threads so. After a BatchNorm whose output the forward took in
   * its own sweep, this runs only when something other than the BatchNorm's backward reads dx:
   * the BatchNorm masks dy itself (DeferredActGrad).
   */
  protected override backwardTask(saved: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'reluBackward', args: [saved, dy, dx, n] };
  }
}

registerLayer({ typeName: 'ReLU', ctor: ReLU, fields: {}, build: () => new ReLU() });
