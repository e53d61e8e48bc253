// Base of the elementwise activations: any input shape, output of the same shape in the
// layer's own buffer, backward from the saved input or output.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';

/** The base of the elementwise activations (ReLU, LeakyReLU, Sigmoid, Tanh, ReLU6, Hardswish, SiLU, GELU, ELU): output shape = input shape. */
export abstract class Elementwise extends Module {
  /** @internal The last input and output, for backward. */
  protected x: Tensor | null = null;
  /** @internal */
  protected y: Tensor | null = null;

  /** @internal Whether backward reads the saved input (else only the layer's own output, which only its own forward replaces). */
  protected readonly backwardReadsInput: boolean = true;

  /** @internal y = f(x) over n floats. */
  protected abstract apply(x: number, y: number, n: number): void;
  /** @internal dx = f'(·) ⊙ dy over n floats, from the saved input x or output y. */
  protected abstract applyBackward(x: Tensor, y: Tensor, dy: number, dx: number, n: number): void;

  /** The input shape: any shape is taken, and kept. */
  override outputShape(s: readonly number[]): number[] { return [...s]; }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const y = this.output('y', x.shape);
    this.apply(x.ptr, y.ptr, x.size);
    this.x = x;
    this.y = y;
    return y;
  }

  /** @internal The input kept for backward must still be intact, when backward reads it. */
  override checkSaved(): void { if (this.backwardReadsInput) this.checkSavedInput(this.x); }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const dx = this.output('dx', dy.shape, 'backward()');
    this.applyBackward(this.x!, this.y!, dy.ptr, dx.ptr, dy.size);
    return dx;
  }
}
