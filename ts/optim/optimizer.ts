// Optimizer: the base of SGD, Adam and AdamW. Holds the parameters, the learning rate (which
// LR schedulers set between steps) and the step count; per-parameter state lives in wasm
// blocks allocated once, so a step allocates nothing.
import { Block, f32, rt } from '../runtime/index.js';
import { Parameter } from '../module.js';
import { describe } from '../options.js';

/**
 * The base of SGD, Adam and AdamW, as torch.optim.Optimizer: holds the parameters, the learning
 * rate (which LR schedulers set between epochs) and the step count. Per-parameter state (momentum,
 * Adam's moments) lives in wasm memory allocated once, so a step allocates nothing.
 */
export abstract class Optimizer {
  /** The parameters updated by step(), in the order given. */
  readonly params: readonly Parameter[];
  /** Steps taken so far (PyTorch's state['step']); bias corrections use it. */
  stepCount = 0;
  private learningRate = 0;
  private readonly stateBlocks: Block[] = [];
  private disposed = false;

  /**
   * @internal Subclasses check their own options; this checks the parameters (a non-empty list of
   * distinct Parameters) and the learning rate.
   */
  constructor(params: Iterable<Parameter>, lr: number) {
    const list = params === null || params === undefined || typeof (params as Iterable<Parameter>)[Symbol.iterator] !== 'function'
      ? null : [...params];
    if (!list) throw new Error(`${this.name}: params must be a list of parameters (model.parameters()), got ${describe(params)}`);
    if (list.length === 0) throw new Error(`${this.name}: got an empty parameter list`);
    list.forEach((p, i) => {
      if (!(p instanceof Parameter)) throw new Error(`${this.name}: params[${i}] is not a Parameter, got ${describe(p)}`);
    });
    if (new Set(list).size !== list.length) throw new Error(`${this.name}: the parameter list holds the same parameter more than once`);
    this.params = list;
    this.lr = lr;
  }

  /** @internal The name used in error messages; subclasses spell it out, as minifiers rename classes. */
  protected get name(): string { return 'Optimizer'; }

  /** The learning rate of the next step(): a finite number ≥ 0; schedulers set it, and so may you. */
  get lr(): number { return this.learningRate; }
  set lr(value: number) {
    checkNumber(this.name, 'lr', value, 0);
    this.learningRate = value;
  }

  /** Applies one update to every parameter from its accumulated gradient. */
  abstract step(): void;

  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void { for (const p of this.params) p.zeroGrad(); }

  /** Releases the optimizer's state buffers. The optimizer cannot step afterwards. */
  dispose(): void {
    this.disposed = true;
    for (const b of this.stateBlocks) b.free();
    this.stateBlocks.length = 0;
  }

  /**
   * @internal Throws, before anything is written, when this optimizer or a parameter's module was
   * disposed: the freed memory may belong to another model by now.
   */
  protected checkUsable(): void {
    if (this.disposed) throw new Error(`${this.name}: the optimizer was disposed, so it cannot step`);
    const i = this.params.findIndex((p) => p.data.block!.freed);
    if (i >= 0) throw new Error(`${this.name}: params[${i}] belongs to a module that was disposed, so the optimizer cannot step`);
  }

  /** @internal Fresh views of the state buffers (momentum, exp_avg, ...), always in the same order. */
  stateViews(): Float32Array[] { return this.stateBlocks.map((b) => f32(b.ptr, b.bytes / 4)); }

  /** @internal One zero-filled float32 state buffer per parameter (momentum, exp_avg, ...). */
  protected stateBuffers(): Block[] {
    return this.params.map((p, i) => {
      let block: Block;
      try {
        block = new Block(p.size * 4, `${this.name} state of params[${i}] [${p.shape.join(', ')}]`);
      } catch (err) {
        this.dispose(); // what was allocated so far: the constructor will not return an optimizer
        throw err;
      }
      rt().kernels.fill(block.ptr, p.size, 0);
      this.stateBlocks.push(block);
      return block;
    });
  }
}

/** @internal Throws unless v is a finite number ≥ least (and < below when given). */
export function checkNumber(optimizer: string, name: string, v: unknown, least: number, below?: number): void {
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= least && (below === undefined || v < below);
  if (!ok) {
    const range = least === -Infinity ? '' : below === undefined ? ` ≥ ${least}` : ` in [${least}, ${below})`;
    throw new Error(`${optimizer}: ${name} must be a finite number${range}, got ${describe(v)}`);
  }
}
