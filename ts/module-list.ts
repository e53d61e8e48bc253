// ModuleList: modules held in a list, registered under '0', '1', ... as torch.nn.ModuleList.
import { Module } from './module.js';
import { describe } from './options.js';

/**
 * Holds modules in a list, as torch.nn.ModuleList: they are registered under their indexes
 * ('0', '1', ...), so their parameters are trained, `eval()` reaches them and the state dict
 * names them `blocks.0.conv.weight`, .... A plain array of modules in a property is not
 * registered (as in PyTorch), so use this instead. It has no forward(): your module's forward
 * calls the modules in whatever order it needs.
 *
 * @example
 * ```js
 * class Tower extends sn.Module {
 *   constructor(depth) {
 *     super();
 *     this.blocks = new sn.ModuleList(Array.from({ length: depth }, () => new sn.Linear(8, 8)));
 *   }
 *   forward(x) {
 *     for (const block of this.blocks) x = sn.relu(block.forward(x));
 *     return x;
 *   }
 * }
 * Object.keys(new Tower(2).stateDict());   // ['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias']
 * ```
 */
export class ModuleList extends Module {
  readonly #items: Module[] = [];

  /** A list holding `modules` (any iterable of modules) in order; empty by default. */
  constructor(modules: Iterable<Module> = []) {
    super();
    if (modules === null || typeof (modules as Iterable<Module>)[Symbol.iterator] !== 'function') {
      throw new Error(`ModuleList: expected an array (or another iterable) of modules, got ${describe(modules)}`);
    }
    this.push(...modules);
  }

  /** Appends modules (each checked to be a Module); returns the list, for chaining. */
  push(...modules: Module[]): this {
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new Error(`ModuleList.push: argument ${i} must be a Module, got ${describe(m)}`);
    });
    this.#items.push(...modules);
    return this;
  }

  /** Appends one module, as PyTorch's append(); returns the list. */
  append(module: Module): this { return this.push(module); }

  /** The number of modules. */
  get length(): number { return this.#items.length; }

  /** The module at index i (negative counts from the end), or undefined. */
  at(i: number): Module | undefined { return this.#items.at(i); }

  /** The modules in order. */
  [Symbol.iterator](): Iterator<Module> { return this.#items[Symbol.iterator](); }

  /** @internal Child modules with their names ('0', '1', ...). */
  override children(): [string, Module][] { return this.#items.map((m, i) => [String(i), m]); }

  /** A ModuleList has no forward (as in PyTorch): iterate over it in your module's forward. */
  override forward(): never {
    throw new Error(`${this.label()}: a ModuleList has no forward() (as in PyTorch); call its modules from your module's forward, e.g. for (const m of this.blocks) x = m.forward(x)`);
  }

  /** Throws, as forward() does: a ModuleList is not run as a whole. */
  override outputShape(): number[] { return this.forward(); }
  /** @internal */
  override forwardDevice(): never { return this.forward(); }
  /** @internal */
  override backwardDevice(): never { return this.forward(); }

  /** A one-line name for error messages: `ModuleList (3 modules)`. */
  override label(): string { return `ModuleList (${this.#items.length} modules)`; }

  /** PyTorch's multi-line description: `ModuleList(\n  (0): Linear(...)\n  ...\n)`. */
  override toString(): string {
    if (!this.#items.length) return 'ModuleList()';
    const inner = this.#items.map((l, i) => `  (${i}): ${String(l).replace(/\n/g, '\n  ')}`);
    return `ModuleList(\n${inner.join('\n')}\n)`;
  }
}
