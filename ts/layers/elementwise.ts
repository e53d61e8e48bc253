// Base of the elementwise activations: any input shape, output of the same shape in the
// layer's own buffer, backward from the saved input or output.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import type { Task } from '../runtime/threads.js';
import { sweep } from '../runtime/split.js';
import { ACT_NONE, FusableResult, activate, activationGrad } from './epilogue.js';

/** The base of the elementwise activations (ReLU, LeakyReLU, Sigmoid, Tanh, ReLU6, Hardswish, SiLU, GELU, ELU): output shape = input shape. */
export abstract class Elementwise extends Module {
  /** @internal The last input and output, for backward. */
  protected x: Tensor | null = null;
  /** @internal */
  protected y: Tensor | null = null;

  /** @internal Whether backward reads the saved input (else only the layer's own output, which only its own forward replaces). */
  protected readonly backwardReadsInput: boolean = true;

  /**
   * @internal ACT_RELU or ACT_RELU6 for an activation that checks its input for NaN and infinity
   * in its own sweep (activationChecked) and fuses with a BatchNorm or convolution before it; ACT_NONE otherwise.
   */
  protected readonly epilogueAct: number = ACT_NONE;

  /**
   * @internal The put-off output (a BatchNorm's or a convolution's) the last call had computed
   * into its own output (fused), or null. Its values were never written, so backward reads the
   * sign of this layer's own output, which is the input's (y > 0 exactly where x > 0; 0 < y < 6
   * exactly where 0 < x < 6).
   */
  protected fused: FusableResult | null = null;

  /** @internal The kernel call y = f(x) over n floats (run by sweep(): over threads when large). */
  protected abstract forwardTask(x: number, y: number, n: number): Task;
  /**
   * @internal The kernel call dx = f'(·) ⊙ dy over n floats from `saved`: the input, or the
   * output where backwardReadsInput is false or the call fused (whose sign is the input's).
   */
  protected abstract backwardTask(saved: number, dy: number, dx: number, n: number): Task;

  /** The input shape: any shape is taken, and kept. */
  override outputShape(s: readonly number[]): number[] { return [...s]; }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const y = this.output('y', x.shape);
    this.x = x;
    this.y = y;
    this.fused = null;
    if (this.epilogueAct === ACT_NONE) {
      const xp = x.ptr, yp = y.ptr;
      sweep(x.size, 8, (o, n) => this.forwardTask(xp + o, yp + o, n));
      return y;
    }
    const { fused, bad } = activate(x, y, this.epilogueAct);
    this.fused = fused;
    if (bad > 0) throw new Error(`${this.label()} input: ${bad} of ${x.size} values are NaN or infinite`);
    // ReLU or ReLU6 of finite values: finite, the next layer's input check not needed.
    y.markFinite();
    return y;
  }

  /** @internal Whether forwardDevice checks the input itself (in its one sweep), so forward() need not. */
  override checksOwnInput(): boolean { return this.epilogueAct !== ACT_NONE; }

  /** @internal The profile row of the call (a BatchNorm's, a convolution's) the last call fused with, or null. */
  override fusedWith(): string | null { return this.fused?.row ?? null; }

  /** @internal The input kept for backward must still be intact, when backward reads it. */
  override checkSaved(): void { if (this.backwardReadsInput && !this.fused) this.checkSavedInput(this.x); }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const dx = this.output('dx', dy.shape, 'backward()');
    const y = this.y!, saved = this.backwardReadsInput && !this.fused ? this.x! : y;
    // After a BatchNorm's put-off output, put off in turn for its backward (DeferredActGrad).
    activationGrad(this.fused, this.epilogueAct, dy, dx, y, () => {
      const s = saved.ptr, g = dy.ptr, d = dx.address;
      sweep(dy.size, 12, (o, n) => this.backwardTask(s + o, g + o, d + o, n));
    });
    return dx;
  }
}
