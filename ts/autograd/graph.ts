// The autograd graph, as PyTorch's: a tensor made with gradients enabled carries the node that
// made it (a layer call, a functional op, a module's input boundary), and each node points at
// the nodes of its inputs. backward() walks that graph from a tensor in reverse topological
// order, summing the gradients of a tensor used more than once. There is no global tape: a graph
// lives as long as its tensors (the JS garbage collector frees it), so nothing grows across steps.
import { addFlat, sweep } from '../runtime/split.js';
import type { Tensor } from '../tensor.js';
import { profiler } from './state.js';

let nodeCount = 0;

/** The number the next node gets: nodes made during a call have numbers in one range. */
export function nextNodeId(): number { return nodeCount + 1; }

/** A step of the forward computation that knows how to send a gradient back to its inputs. */
export abstract class GradNode {
  /** Increasing with creation: the nodes made during one module call form a range. */
  readonly id = ++nodeCount;

  constructor(
    /** The nodes that made each input (null: an input no gradient goes to). */
    readonly inputs: readonly (GradNode | null)[]) {}

  /** Whether this node has learnable state of its own (a layer with parameters, a parameter). */
  abstract get ownParams(): boolean;

  /** Throws an Error saying why, when what backward() needs was overwritten or released since. */
  abstract check(): void;

  /**
   * The gradients with respect to each input from dL/d(output) `dy`; null where `need` is false.
   * Parameters' gradients are accumulated on the way.
   */
  abstract backward(dy: Tensor, need: readonly boolean[]): (Tensor | null)[];

  /** A buffer (owned by whoever made the output) for the sum of several gradients of the output. */
  abstract sumBuffer(shape: readonly number[]): Tensor;

  /** The profile row of this node's layer call or op, when a profile recorded one. */
  row: string | null = null;
}

/**
 * A leaf whose gradient is kept, as PyTorch's AccumulateGrad: a parameter, or a tensor made with
 * `requiresGrad`. Every gradient that reaches it is added into its grad; nothing flows further.
 * Such a leaf is what makes a walk compute gradients at all: nodes that lead to none are skipped.
 */
export abstract class AccumulateNode extends GradNode {
  constructor() { super([]); }
  get ownParams(): boolean { return true; }
  /** Adds g (of the leaf's size) into the leaf's gradient. */
  abstract accumulate(g: Tensor): void;
  backward(): (Tensor | null)[] { return []; }
  sumBuffer(): Tensor { throw new Error('simdnet: a leaf sums its gradients in place'); }
}

/** A parameter used by a functional op: its gradient accumulates into the parameter's grad. */
export class ParamNode extends AccumulateNode {
  constructor(readonly grad: Tensor, readonly what: string) { super(); }
  check(): void {
    if (this.grad.block?.freed) throw new Error(`${this.what}: its memory was released (its module was disposed), so no gradient can accumulate there`);
  }
  accumulate(g: Tensor): void { addInto(this.grad, g); }
}

/**
 * A tensor made with `requiresGrad` (sn.tensor's option): gradients reaching it are handed to
 * `add`, which sums them into the tensor's host-side `grad`.
 */
export class InputLeafNode extends AccumulateNode {
  constructor(private readonly add: (g: Tensor) => void) { super(); }
  check(): void {}
  accumulate(g: Tensor): void { this.add(g); }
}

/** Where a module call's input enters it: gradients pass straight through, and Module.backward stops here. */
export class BoundaryNode extends GradNode {
  constructor(inner: GradNode | null, private readonly sums: (shape: readonly number[]) => Tensor) { super([inner]); }
  get ownParams(): boolean { return false; }
  check(): void {}
  backward(dy: Tensor): (Tensor | null)[] { return [dy]; }
  sumBuffer(shape: readonly number[]): Tensor { return this.sums(shape); }
}

/** What one backward walk is asked for. */
export interface WalkOptions {
  /** Nodes whose total gradient is wanted (a module's input boundaries): returned, and computed even if nothing upstream learns. */
  targets?: readonly GradNode[];
  /** Only nodes with ids in [from, to] (one module call's) are walked, parameters aside; others get no gradient. */
  within?: readonly [number, number];
}

/**
 * Back-propagates dy = dL/d(output of `root`) through the graph: every node is checked first
 * (nothing accumulates when one is stale), then each node, outputs before inputs, gets the sum
 * of its consumers' gradients and passes its own on; leaves that keep a gradient (parameters,
 * tensors made with requiresGrad) add theirs up. Nodes that lead to no such leaf and no target
 * are skipped: a model's first layer computes no input gradient unless its input requires one.
 * Returns the gradients of the targets, views valid until the buffers they live in are written
 * again.
 */
export function backwardFrom(root: GradNode, dy: Tensor, options: WalkOptions = {}): Map<GradNode, Tensor> {
  const targets = new Set(options.targets ?? []);
  const within = options.within;
  const included = (n: GradNode | null): n is GradNode =>
    n !== null && (within === undefined || n instanceof ParamNode || (n.id >= within[0] && n.id <= within[1]));
  const order = postorder(root, included);
  // Outputs first: the first stale node named is the one nearest the loss.
  for (let i = order.length - 1; i >= 0; i--) order[i].check();

  const wanted = new Set<GradNode>();
  for (const n of order) {
    if (targets.has(n) || n.ownParams || n.inputs.some((i) => included(i) && wanted.has(i))) wanted.add(n);
  }
  const results = new Map<GradNode, Tensor>();
  if (!wanted.has(root)) return results;
  const slots = new Map<GradNode, Tensor>();
  const summed = new Set<GradNode>();
  const accumulate = (n: GradNode, g: Tensor) => {
    if (n instanceof AccumulateNode) { n.accumulate(g); return; }
    const have = slots.get(n);
    if (!have) { slots.set(n, g); return; }
    if (!summed.has(n)) {
      // The first gradient is another node's buffer (or passed through from one): never added
      // into; the first two go into a buffer of the node's own in one sweep.
      checkSize(have, g);
      const sum = n.sumBuffer(g.shape);
      addFlat(have.ptr, g.ptr, sum.ptr, sum.size);
      summed.add(n);
      slots.set(n, sum);
      return;
    }
    addInto(have, g);
  };
  // The root may itself be a leaf (a tensor with requiresGrad given straight to the loss).
  accumulate(root, dy);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    const g = slots.get(n);
    if (!g || !wanted.has(n)) continue;
    if (targets.has(n)) results.set(n, g);
    const need = n.inputs.map((i) => included(i) && wanted.has(i));
    if (!n.ownParams && !need.some(Boolean)) continue;
    const start = profiler && n.row !== null ? performance.now() : 0;
    const grads = n.backward(g, need);
    if (profiler && n.row !== null) profiler.backward(n.row, performance.now() - start);
    n.inputs.forEach((input, i) => { if (need[i] && grads[i]) accumulate(input!, grads[i]!); });
  }
  return results;
}

/** The nodes reachable from root (through `included` inputs), every input before the nodes that use it. */
function postorder(root: GradNode, included: (n: GradNode | null) => n is GradNode): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>([root]);
  // An explicit stack: graphs of deep networks are deeper than the JS call stack allows.
  const stack: [GradNode, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [n, i] = top;
    if (i < n.inputs.length) {
      top[1]++;
      const input = n.inputs[i];
      if (included(input) && !seen.has(input)) { seen.add(input); stack.push([input, 0]); }
    } else {
      stack.pop();
      order.push(n);
    }
  }
  return order;
}

/** sum += g, element by element (same size; over threads when large: sweep). */
function addInto(sum: Tensor, g: Tensor): void {
  checkSize(sum, g);
  const y = sum.ptr, x = g.ptr;
  sweep(sum.size, 12, (o, n) => ({ kernel: 'addInto', args: [y + o, x + o, n] }));
}

/** Throws unless the gradient g is of sum's size. */
function checkSize(sum: Tensor, g: Tensor): void {
  if (sum.size !== g.size) throw new Error(`simdnet: a gradient of shape [${g.shape.join(', ')}] arrived for a tensor of shape [${sum.shape.join(', ')}]`);
}
