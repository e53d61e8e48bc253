// Linear: y = x·Wᵀ + b over the last dimension, W shaped [out, in] as in PyTorch.
// Where the output has more rows than the weights have columns (rows > in_features), the output
// is put off and a ReLU or ReLU6 after it has the GEMM store act(y) in its own buffer, as each
// tile's last k-block is stored (DeferredLinear; epilogue.ts). The put-off output reads a snapshot
// of the weights (an optimizer step before it is read changes nothing): a copy of in·out floats,
// which costs less than the activation's sweep over rows·out only when rows > in.
import { rt } from '../runtime/index.js';
import { defaultLayerInit } from '../init.js';
import { Module, Parameter } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { checkPositiveInt } from './args.js';
import { boolean, checkOptions } from '../options.js';
import { registerLayer } from '../registry.js';
import { FusableResult, fusionEnabled } from './epilogue.js';
import { gemmRows } from './gemm-threads.js';

/** The options of Linear. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * A fully connected layer, as torch.nn.Linear: y = x·Wᵀ + b over the last dimension.
 *
 * Shape:
 * - input: [*, in_features], any number of leading dimensions (usually [N, in_features]; put a
 *   Flatten before it for images)
 * - output: [*, out_features]
 *
 * Parameters, with PyTorch's names, layouts and initialisation (U(−b, b), b = 1/√in_features):
 * `weight` [out_features, in_features] and `bias` [out_features] (null with `bias: false`).
 *
 * @example
 * ```js
 * const fc = new sn.Linear(400, 120);
 * const y = fc.forward(sn.tensor(new Float32Array(64 * 400), [64, 400]));   // [64, 120]
 * ```
 */
export class Linear extends Module {
  /** W, [out_features, in_features]. */
  readonly weight: Parameter;
  /** b, [out_features], or null when made with `bias: false`. */
  readonly bias: Parameter | null;
  private x: Tensor | null = null;

  /**
   * A fully connected layer (torch.nn.Linear), y = x·Wᵀ + b: input [*, inFeatures] → output
   * [*, outFeatures]. Option bias, default true.
   *
   * @param options `bias` (default true).
   */
  constructor(
    /** The size of each input row (the input's last dimension). */
    readonly inFeatures: number,
    /** The size of each output row. */
    readonly outFeatures: number,
    options: LinearOptions = {}) {
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

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const rows = x.size / this.inFeatures;
    const y = this.output('y', this.outputShape(x.shape));
    this.x = x;
    // Put off while its input is a layer's result (re-issued, never written in place) and the
    // weights' snapshot is smaller than the output whose sweep fusing saves.
    if (fusionEnabled() && x.block?.owner && rows > this.inFeatures) {
      const w = this.weight.data, bytes = w.size * 4;
      const snap = this.scratch('snapshot', bytes + this.outFeatures * 4).ptr;
      const heap = new Uint8Array(rt().memory.buffer);
      heap.copyWithin(snap, w.ptr, w.ptr + bytes);
      if (this.bias) heap.copyWithin(snap + bytes, this.bias.data.ptr, this.bias.data.ptr + this.outFeatures * 4);
      y.block!.defer(new DeferredLinear(x, y, snap, this.bias !== null, rows, this.inFeatures, this.outFeatures));
      return y;
    }
    if (this.bias) rt().kernels.biasRows(y.ptr, this.bias.data.ptr, rows, this.outFeatures);
    gemmRows(0, 1, rows, this.outFeatures, this.inFeatures,
      x.ptr, this.inFeatures, this.weight.data.ptr, this.inFeatures, y.ptr, this.outFeatures, +(this.bias !== null));
    return y;
  }

  /** @internal The input kept for backward must still be intact. */
  override checkSaved(): void { this.checkSavedInput(this.x); }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.x!;
    const rows = x.size / this.inFeatures;
    const { inFeatures: nIn, outFeatures: nOut } = this;
    // dW += dyᵀ·x ; db += Σ_rows dy ; dx = dy·W. On several threads (gemm-threads.ts) dW by
    // ranges of its rows (output features, each summed over the whole batch), dx by rows of the batch.
    gemmRows(1, 0, nOut, nIn, rows, dy.ptr, nOut, x.ptr, nIn, this.weight.grad.ptr, nIn, 1);
    if (this.bias) rt().kernels.biasGradRows(this.bias.grad.ptr, dy.ptr, rows, nOut);
    if (!needInputGrad) return null;
    const dx = this.output('dx', x.shape, 'backward()');
    gemmRows(0, 0, rows, nIn, nOut, dy.ptr, nOut, this.weight.data.ptr, nIn, dx.ptr, nIn, 0);
    return dx;
  }
}

/**
 * A Linear's output put off, with a snapshot of its weights then bias: written when read, or with
 * the activation after it applied by the GEMM's stores (gemmAct) when that activation takes it —
 * the bias written first and the products added onto it, as forwardDevice does, then act.
 */
class DeferredLinear extends FusableResult {
  constructor(private readonly x: Tensor, y: Tensor, private readonly snap: number, private readonly hasBias: boolean,
    private readonly rows: number, private readonly nIn: number, private readonly nOut: number) {
    super([x.block!], y);
  }

  protected write(): void { this.compute(this.y.address, 0); }

  apply(out: number, act: number): number {
    if (this.compute(out, act) === 0) return 0;
    // A NaN or infinity before the activation (the error path): the count from the output without it.
    this.compute(out, 0);
    return rt().kernels.countNonFinite(out, this.rows * this.nOut);
  }

  private compute(out: number, act: number): number {
    const { rows, nIn, nOut, snap } = this, k = rt().kernels;
    if (this.hasBias) k.biasRows(out, snap + nIn * nOut * 4, rows, nOut);
    return gemmRows(0, 1, rows, nOut, nIn, this.x.ptr, nIn, snap, nIn, out, nOut, +this.hasBias, act);
  }
}

registerLayer({
  typeName: 'Linear', ctor: Linear,
  fields: { inFeatures: 'int', outFeatures: 'int', bias: 'bool' },
  build: (c) => new Linear(c.inFeatures, c.outFeatures, { bias: c.bias }),
  // Out-of-range values count as nothing here: the constructor refuses them with a better message.
  stateValues: (c) => Math.max(c.outFeatures, 0) * Math.max(c.inFeatures, 0) + (c.bias ? Math.max(c.outFeatures, 0) : 0),
});
