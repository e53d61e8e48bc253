// Linear: y = x·Wᵀ + b over the last dimension, W shaped [out, in] as in PyTorch.
import { gemm, rt } from '../runtime/index.js';
import { defaultLayerInit } from '../init.js';
import { Module, Parameter } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { checkPositiveInt } from './args.js';
import { boolean, checkOptions } from '../options.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private x: Tensor | null = null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    checkPositiveInt('Linear', 'in_features', inFeatures);
    checkPositiveInt('Linear', 'out_features', outFeatures);
    checkOptions('Linear', options, { bias: boolean });
    this.weight = this.addParameter('weight', [outFeatures, inFeatures]);
    this.bias = options.bias ?? true ? this.addParameter('bias', [outFeatures]) : null;
    defaultLayerInit(this.weight, this.bias);
  }

  override toString(): string {
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'})`;
  }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> {
    return { inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null };
  }

  override outputShape(s: readonly number[]): number[] {
    if (s.length < 1 || s.at(-1) !== this.inFeatures) {
      throw new Error(`${this}: expected input of shape [*, ${this.inFeatures}], got ${formatShape(s)}`);
    }
    return [...s.slice(0, -1), this.outFeatures];
  }

  override forwardDevice(x: Tensor): Tensor {
    const rows = x.size / this.inFeatures;
    const y = this.output('y', this.outputShape(x.shape));
    if (this.bias) rt().kernels.biasRows(y.ptr, this.bias.data.ptr, rows, this.outFeatures);
    gemm(false, true, rows, this.outFeatures, this.inFeatures,
      x.ptr, this.inFeatures, this.weight.data.ptr, this.inFeatures, y.ptr, this.outFeatures, this.bias !== null);
    this.x = x;
    return y;
  }

  /** @internal The input kept for backward must still be intact. */
  override checkSaved(): void { this.checkSavedInput(this.x); }

  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.x!;
    const rows = x.size / this.inFeatures;
    const { inFeatures: nIn, outFeatures: nOut } = this;
    // dW += dyᵀ·x ; db += Σ_rows dy ; dx = dy·W
    gemm(true, false, nOut, nIn, rows, dy.ptr, nOut, x.ptr, nIn, this.weight.grad.ptr, nIn, true);
    if (this.bias) rt().kernels.biasGradRows(this.bias.grad.ptr, dy.ptr, rows, nOut);
    if (!needInputGrad) return null;
    const dx = this.output('dx', x.shape, 'backward()');
    gemm(false, false, rows, nIn, nOut, dy.ptr, nOut, this.weight.data.ptr, nIn, dx.ptr, nIn, false);
    return dx;
  }
}
