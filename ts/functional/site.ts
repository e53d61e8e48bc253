// Where a functional op keeps its buffers, and the graph node it records. An op called inside a
// module's forward belongs to that module: its buffers are the module's, keyed by the op's
// sequence number within the call, so the same forward reuses the same buffers every step and
// dispose() frees them with the module. An op called outside any module uses a library pool
// keyed by its sequence number since the last loss.backward() (or the start of an sn.noGrad
// block outside modules); past MAX_LOOSE_OPS such ops it refuses, rather than grow without bound.
import { Block, BlockOwner, f32, reuseBlock } from '../runtime/block.js';
import { rt } from '../runtime/wasm.js';
import { Tensor, shapeSize, checkTensor } from '../tensor.js';
import { GradNode } from '../autograd/graph.js';
import {
  Frame, annotateError, currentFrame, isDryRun, isRecording, pathOf, profileClock, profiler, releaseEpoch,
} from '../autograd/state.js';

/** The most functional ops that may run outside any module between two loss.backward() calls. */
export const MAX_LOOSE_OPS = 10_000;

/** A module as an op host: module.ts implements it (a type, so that module.ts can import this file). */
export interface OpHost {
  label(): string;
  /** A block of at least `bytes` under `key` in the module's scratch, reused while big enough. */
  opBlock(key: string, bytes: number, what: () => string): Block;
  /** The block under `key` as it is, or null. */
  opBlockPeek(key: string): Block | null;
}

/** One place an op runs: the n-th op of a module's call, or of the loose ops outside modules. */
export class OpSite implements BlockOwner {
  /** The op that ran here last ('sn.add'). */
  op = '';
  private readonly loose = new Map<string, Block>();

  constructor(
    /** The module whose call runs the op, or null outside any module. */
    readonly host: OpHost | null,
    /** The op's sequence number in that call (or among the loose ops). */
    readonly seq: number) {}

  /** Names the site in messages: `sn.add (op 2 of BasicBlock)`. */
  label(): string {
    return `${this.op} (op ${this.seq} ${this.host ? `of ${this.host.label()}` : 'outside any module'})`;
  }

  /** The block under `key`, at least `bytes` long. */
  block(key: string, bytes: number): Block {
    const what = () => `${this.label()} ${key} buffer`;
    if (this.host) return this.host.opBlock(`op${this.seq}.${key}`, bytes, what);
    const have = this.loose.get(key) ?? null;
    if (have && !have.freed && have.bytes >= bytes) return have;
    const block = reuseBlock(have, bytes, what());
    this.loose.set(key, block);
    return block;
  }

  /** The block under `key` as it is now, or null (no allocation). */
  peek(key: string): Block | null {
    return this.host ? this.host.opBlockPeek(`op${this.seq}.${key}`) : this.loose.get(key) ?? null;
  }

  /**
   * A device tensor of `shape` for a new result of `call` in block `key`: tensors handed out over
   * that block before become stale. Inputs living in that block (the op's own earlier result,
   * given back to it) are copied aside first; the returned inputs are the ones to read.
   */
  output(key: string, shape: readonly number[], call = 'forward()', inputs: readonly Tensor[] = []): { y: Tensor; inputs: Tensor[] } {
    const current = this.peek(key);
    const safe = inputs.map((t, i) => {
      if (current === null || t.block !== current) return t;
      const copy = new Tensor(t.shape, this.block(`alias${i}`, t.size * 4));
      f32(copy.ptr, t.size).set(f32(t.ptr, t.size));
      return copy;
    });
    const block = this.block(key, shapeSize(shape) * 4);
    block.reissue(this, call);
    return { y: new Tensor(shape, block), inputs: safe };
  }
}

const looseSites: OpSite[] = [];
/** How many sites the pool of ops outside modules holds (bounded by MAX_LOOSE_OPS); for tests. */
export function looseSiteCount(): number { return looseSites.length; }
let looseCount = 0;
/** The loose ops' pool restarts after a whole-graph backward and when sn.noGrad starts outside modules. */
let looseEpoch = 0;

/** What one op call works with. */
export interface OpCall {
  /** The op's name, e.g. 'sn.add'. */
  readonly op: string;
  /** The site whose buffers it uses; null in a dry run (shapes only). */
  readonly site: OpSite | null;
  /** The module call it runs in, or null outside any module. */
  readonly frame: Frame | null;
  /** Whether the op records a node (gradients enabled, some input needs a gradient). */
  readonly recording: boolean;
  /** When profiling: the row, and when the op started. */
  row: string | null;
  start: number;
  /** When profiling: the row of the layer call this op was fused with (a BatchNorm before sn.relu), if any. */
  fusedInto?: string | null;
}

/** Starts an op: finds its site (none in a dry run). */
export function beginOp(op: string): OpCall {
  if (isDryRun()) return { op, site: null, frame: currentFrame(), recording: false, row: null, start: 0 };
  const frame = currentFrame();
  let site: OpSite;
  if (frame) {
    const host = frame.module as unknown as OpHost & { opSite(seq: number): OpSite };
    site = host.opSite(frame.ops++);
  } else {
    if (looseEpoch !== releaseEpoch()) { looseEpoch = releaseEpoch(); looseCount = 0; }
    if (looseCount >= MAX_LOOSE_OPS) {
      throw new Error(`${op}: ${MAX_LOOSE_OPS} functional ops have run outside any module since the last loss.backward(); each ` +
        'keeps its result (for backward) in a buffer of its own until then, so this would grow without bound: call them ' +
        'inside a module\'s forward, or run inference inside sn.noGrad(() => ...), one call per batch');
    }
    site = looseSites[looseCount] ??= new OpSite(null, looseCount);
    looseCount++;
  }
  site.op = op;
  const row = profiler ? `${frame ? pathOf(frame) : ''}|op${site.seq}` : null;
  return { op, site, frame, recording: isRecording(), row, start: profiler ? profileClock() : 0 };
}

/**
 * An op's tensor argument, checked: a Tensor (or a Parameter, as its data), float32, live. In
 * a real run a host tensor is copied into the site's block `in<i>` and checked for NaN and
 * infinity.
 */
export function opInput(call: OpCall, name: string, index: number, x: unknown): Tensor {
  const v = (x !== null && typeof x === 'object' && (x as { data?: unknown }).data instanceof Tensor && (x as { grad?: unknown }).grad instanceof Tensor)
    ? (x as { data: Tensor }).data : x;
  checkTensor(call.op, name, v);
  if (v.dtype !== 'float32') throw new Error(`${call.op}: ${name} must be a float32 tensor, got ${v.dtype}`);
  if (call.site === null || v.isMeta) return v;
  if (v.onDevice) {
    if (v.staleness()) v.assertLive(`${call.op} ${name}`);
    return v;
  }
  const { y } = call.site.output(`in${index}`, v.shape);
  y.view().set(v.view());
  const bad = rt().kernels.countNonFinite(y.ptr, y.size);
  if (bad > 0) throw new Error(`${call.op}: ${name}: ${bad} of ${y.size} values are NaN or infinite`);
  y.node = v.node;
  return y;
}

/** The result of an op in a dry run: a tensor with a shape and no values. */
export function metaResult(shape: readonly number[]): Tensor { return Tensor.meta(shape); }

/**
 * @internal Told of every functional op of a dry run (toOnnx traces a forward with it): the op,
 * its tensor or number arguments in order, its other arguments, and its (shape-only) result.
 */
export type OpTracer = (op: string, inputs: readonly (Tensor | number)[], attrs: Readonly<Record<string, unknown>>, y: Tensor) => void;
let opTracer: OpTracer | null = null;

/** @internal Runs fn with `tracer` told of the ops of dry runs. */
export function withOpTracer<T>(tracer: OpTracer, fn: () => T): T {
  const saved = opTracer;
  opTracer = tracer;
  try { return fn(); } finally { opTracer = saved; }
}

/** The result of an op in a dry run, reported to the tracer if one listens. */
export function dryResult(call: OpCall, shape: readonly number[], inputs: readonly (Tensor | number)[], attrs: Readonly<Record<string, unknown>> = {}): Tensor {
  const y = Tensor.meta(shape);
  opTracer?.(call.op, inputs, attrs, y);
  return y;
}

/** What an op's backward reads and computes. */
type Backward = (dy: Tensor, need: readonly boolean[]) => (Tensor | null)[];

/** An op's call in the graph. */
export class OpNode extends GradNode {
  constructor(
    inputs: readonly (GradNode | null)[],
    private readonly site: OpSite,
    private readonly frame: Frame | null,
    /** The op's result (null for a view): its buffer must not have been written again. */
    private readonly out: Tensor | null,
    /** Tensors the backward reads, with what they are ('its input a'). */
    private readonly saved: readonly [string, Tensor][],
    private readonly back: Backward) {
    super(inputs);
  }
  get ownParams(): boolean { return false; }
  check(): void {
    let stale = this.out ? this.out.staleness('its result') : null;
    for (const [what, t] of this.saved) stale ??= t.staleness(what);
    if (!stale) return;
    const err = new Error(`${this.site.op} (op ${this.site.seq}): backward() needs the tensors of the call that made this graph, ` +
      `but ${stale}; call backward() before running it again`);
    throw this.frame ? annotateError(err, this.frame, false) : err;
  }
  backward(dy: Tensor, need: readonly boolean[]): (Tensor | null)[] { return this.back(dy, need); }
  sumBuffer(shape: readonly number[]): Tensor { return this.site.output('gradSum', shape, 'backward()').y; }
}

/**
 * Ends an op: records its node when gradients flow to one of its inputs, and reports its time to
 * a profile. `inputs` are the op's tensor arguments, in order.
 */
export function endOp(call: OpCall, y: Tensor, inputs: readonly Tensor[], saved: readonly [string, Tensor][], out: Tensor | null, back: Backward): Tensor {
  if (call.row !== null) profiler?.forward(call.row, call.frame ? pathOf(call.frame) : '', call.op, profileClock() - call.start, call.fusedInto);
  if (call.recording && inputs.some((t) => t.node !== null)) {
    y.node = new OpNode(inputs.map((t) => t.node), call.site!, call.frame, out, saved, back);
    y.node.row = call.fusedInto ?? call.row;
  }
  return y;
}

/** A view of `t`'s storage with another shape (the same block and generation, or the same host array). */
export function viewOf(t: Tensor, shape: readonly number[]): Tensor {
  if (t.isMeta) return Tensor.meta(shape);
  return t.onDevice ? new Tensor(shape, t.block!, t.address) : new Tensor(shape, t.host as Float32Array);
}

