// ONNX to a model: sn.fromOnnx(bytes). The file is decoded (decode.ts), checked as a graph (every
// value defined before it is read, so no cycle; one input, one output), constant subgraphs are
// evaluated (import-const.ts), patterns of several nodes that are one layer are fused (MatMul +
// Add, the Erf form of GELU, x·HardSigmoid(x), x·Sigmoid(x)), and each remaining node becomes a
// layer or a functional op (import-ops.ts): a Sequential when they form a chain of layers, else a
// module whose forward walks the steps. Every unsupported node is listed in one Error before
// anything is built, and a failure while building releases what was built.
import { Module, Parameter } from '../../module.js';
import { Sequential } from '../../sequential.js';
import { Identity } from '../../layers/identity.js';
import { Tensor } from '../../tensor.js';
import { dryRun } from '../../autograd/state.js';
import { describe } from '../../describe.js';
import { listNames } from '../untrusted.js';
import { decodeModel, type DecodedGraph, type DecodedModel, type DecodedNode } from './decode.js';
import { ProtoError } from './protobuf-reader.js';
import { BATCH, constOf, FOLDABLE, fold, materialize, MAX_RANK, NodeError, attr, type Const, type Int } from './import-const.js';
import { CHAIN_OPS, CONVERTERS, NotAChain, type ConvertContext, type Step } from './import-ops.js';

/** The ai.onnx operator sets read: 9 (BatchNormalization without spatial) to 21. */
export const MIN_IMPORT_OPSET = 9;
export const MAX_IMPORT_OPSET = 21;
/** The batch size shapes are worked out at during import (any batch runs afterwards). */
const SHAPE_BATCH = 2;

/**
 * The JS heap one layer, op or container an import builds may keep, without its parameters and
 * buffers: the object, its maps and names. Measured per node over chains of 210 against 10
 * (Node 20): Relu 0.9 KB, Sigmoid 0.8 KB, Flatten 0.9 KB, a Relu as a functional op of a module
 * graph 0.9 KB, Identity 0.03 KB. Its node can take a file 14 bytes.
 */
export const ONNX_LAYER_BYTES = 1536;

/**
 * The JS heap one parameter or buffer of a built layer may keep: its tensor and wasm block
 * handles and their finalizer records (the values live in wasm memory, bounded apart). Measured
 * with the layers above: Conv with a bias 4.4 KB (two parameters), BatchNormalization 8.1 KB
 * (two parameters, three buffers), about 1.1–1.4 KB a tensor. Its initializer can take a file
 * 10 bytes.
 */
export const ONNX_TENSOR_BYTES = 2048;

/**
 * The JS heap one import may keep whatever the file's size: the model object and enough layers
 * that a small real model never meets the bound (about 170 parameter-free layers, or 50 of
 * BatchNormalization's, for any file). Measured need (what the bound charges less twice the
 * file): the MobileNet-style fixtures (8.3 to 10.6 KB, 27 to 32 nodes) 21 to 55 KB, the
 * ResNet-style ones 16 to 69 KB, LeNet-5 and the zoo none (their weights pay). A file refused
 * loads nothing, so only a model gets it.
 */
export const ONNX_FIXED_BYTES = 256 * 1024;

/** The JS heap fromOnnx lets a file of `fileBytes` bytes build: twice its size plus ONNX_FIXED_BYTES. */
export function onnxBuildBudget(fileBytes: number): number {
  return 2 * fileBytes + ONNX_FIXED_BYTES;
}

/** What fromOnnx charges a build of `objects` layers, ops and containers holding `tensors` parameters and buffers. */
export function onnxBuildBytes(objects: number, tensors: number): number {
  return objects * ONNX_LAYER_BYTES + tensors * ONNX_TENSOR_BYTES;
}

/** Refuses a file that would build more than its size pays for (onnxBuildBudget). */
function checkBuildSize(objects: number, tensors: number, fileBytes: number, what: string): void {
  const budget = onnxBuildBudget(fileBytes), cost = onnxBuildBytes(objects, tensors);
  if (cost <= budget) return;
  throw new Error(`fromOnnx: graph.node: a file of ${fileBytes} bytes may build at most ${budget} bytes of layers and ops, this one ${cost}: `
    + `${objects} (${what}) at ${ONNX_LAYER_BYTES} bytes each and ${tensors} parameters and buffers at ${ONNX_TENSOR_BYTES}; `
    + `fromOnnx bounds the JS heap a model keeps by twice the file's size plus ${ONNX_FIXED_BYTES} bytes`);
}

/** The parameters and buffers a node's layer may hold: its initializer operands, and BatchNormalization's batch count. */
function tensorsOf(n: DecodedNode, inits: Map<string, Const>): number {
  let count = n.opType === 'BatchNormalization' ? 1 : 0;
  for (const i of n.inputs) if (inits.has(i)) count++;
  return count;
}

/** A model built by fromOnnx: a Sequential or a module graph, with `onnxNames`. */
export type OnnxImportedModel = Module & {
  /** The initializer each state-dict entry was read from: { 'features.0.weight': 'features.0.weight', '0.bias': 'onnx::Conv_17', ... }. */
  readonly onnxNames: Readonly<Record<string, string>>;
  /** The shape of one input sample as the file declares it, without the batch dimension: [1, 28, 28]. */
  readonly onnxInputShape: readonly number[];
};

const quote = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
const nodeLabel = (n: DecodedNode) => `${n.name ? quote(n.name) : `#${n.index}`} (${n.opType || 'no op_type'})`;

/**
 * Builds a trainable model from the bytes of an ONNX file, as `torch.onnx.export` or
 * `model.toOnnx()` writes it (ai.onnx opsets 9 to 21; the operators read are listed in the
 * README's "ONNX" section): a {@link Sequential} when the nodes form a chain of layers named as a
 * Sequential's, else an {@link OnnxGraphModule}. Initializers become parameters and buffers named
 * after them where they are state-dict names (`model.onnxNames` maps every state-dict name to its
 * initializer); BatchNormalization keeps its running statistics. The model takes the file's input
 * shape at any batch size ([N, ...model.onnxInputShape]) and starts in training mode.
 *
 * A file of B bytes may build layers and ops keeping at most 2·B + 256 KB of JS heap, each charged
 * 1.5 KB and 2 KB a parameter or buffer (real models, whose weights make their size, are far from
 * it); a file over that is refused, nothing left built.
 *
 * @param bytes The file: a Uint8Array (a Node Buffer is one), an ArrayBuffer or another ArrayBufferView.
 * @throws Error starting 'fromOnnx: ' naming the part of the file, or every unsupported node by
 *   name and op type, or the layers and ops a file would build beyond what its size allows;
 *   nothing stays allocated after a refusal.
 *
 * @example
 * ```js
 * const model = sn.fromOnnx(readFileSync('resnet.onnx'));   // torch.onnx.export(model, x, 'resnet.onnx')
 * model.eval();
 * const logits = model.forward(x);                         // [N, classes]
 * await model.fit(x, labels, { epochs: 3 });               // fine-tune
 * ```
 */
export function fromOnnx(input: unknown): OnnxImportedModel {
  let bytes: Uint8Array;
  if (input instanceof Uint8Array) bytes = input;
  else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else throw new Error(`fromOnnx: expected the bytes of an ONNX file (a Uint8Array, a Node Buffer or an ArrayBuffer), got ${describe(input)}`);
  let model: DecodedModel;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    if (err instanceof ProtoError) throw new Error(`fromOnnx: ${err.message}`);
    throw err;
  }
  const opset = model.opsets.get('');
  if (opset === undefined || opset < MIN_IMPORT_OPSET || opset > MAX_IMPORT_OPSET) {
    throw new Error(`fromOnnx: model.opset_import: the ai.onnx operator set must be ${MIN_IMPORT_OPSET} to ${MAX_IMPORT_OPSET}, got ${opset ?? 'none'}`);
  }
  return new Importer(model.graph, opset, bytes.length).run();
}

/** The graph input: its name and shape (batch first, as a concrete stand-in), and the batch the file wrote. */
interface GraphInput { name: string; shape: number[]; declaredBatch: number | null }

class Importer implements ConvertContext {
  mode: 'chain' | 'graph' = 'chain';
  readonly declaredBatch: number | null;
  private readonly input: GraphInput;
  private readonly output: string;
  private readonly inits = new Map<string, Const>();
  /** Constants known before the shapes are: initializers and what folds from them alone. */
  private readonly pure = new Map<string, Const>();
  private consts = new Map<string, Const>();
  private shapes = new Map<string, number[]>();
  private nodes: DecodedNode[];
  private readonly budget: { left: number };
  /** What the current attempt built, released if it fails. */
  private built: (Module | Parameter)[] = [];
  private operandParams = new Map<Const, [string, Parameter]>();
  /** The parameters and buffers the layers will hold, counted before any is built (tensorsOf). */
  private tensors = 0;
  /** The node each initializer is a layer weight of. */
  private weightOf = new Map<string, string>();

  constructor(private readonly g: DecodedGraph, readonly opset: number, private readonly fileBytes: number) {
    this.budget = { left: fileBytes };
    for (const t of g.initializers) {
      if (this.inits.has(t.name)) throw new Error(`fromOnnx: graph.initializer: two initializers are named ${quote(t.name)}`);
      this.inits.set(t.name, constOf(t));
    }
    this.input = graphInput(g, this.inits);
    this.declaredBatch = this.input.declaredBatch;
    if (g.outputs.length !== 1) throw new Error(`fromOnnx: graph.output: the graph has ${g.outputs.length} outputs; one is supported`);
    this.output = g.outputs[0].name;
    this.nodes = g.nodes;
  }

  run(): OnnxImportedModel {
    checkDefinitions(this.g, this.input.name, this.inits);
    this.foldPure();
    this.nodes = live(fusePatterns(this.nodes, this.pure, this.output), this.output);
    const dynamic = this.checkSupported();
    this.tensors = dynamic.reduce((sum, n) => sum + tensorsOf(n, this.inits), 0);
    checkBuildSize(dynamic.length, this.tensors, this.fileBytes, 'nodes computing on the input');
    this.mode = isChain(dynamic, this.input.name, this.output) ? 'chain' : 'graph';
    const budget = this.budget.left;
    for (;;) {
      this.budget.left = budget;
      try {
        const steps = this.convert();
        return this.mode === 'chain' ? this.sequential(steps) : this.graphModule(steps);
      } catch (err) {
        for (const m of this.built) m.dispose();
        this.built = [];
        this.operandParams.clear();
        if (err instanceof NotAChain && this.mode === 'chain') { this.mode = 'graph'; continue; }
        throw err;
      }
    }
  }

  // ---- ConvertContext ----

  constIn(n: DecodedNode, i: number): Const | null {
    const name = n.inputs[i];
    return name ? this.consts.get(name) ?? null : null;
  }
  isAct(name: string): boolean { return this.shapes.has(name); }
  isUsed(name: string): boolean { return this.usedLater.has(name); }
  shapeOf(name: string): number[] { return this.shapes.get(name)!; }

  operand(c: Const, n: DecodedNode): number | Parameter {
    const k = materialize(c);
    if (!k.floats) throw new NodeError('its constant operand must hold floats');
    const values = finite(k);
    if (values.length === 1 && k.dims.length <= 1) return values[0];
    if (k.dims.length > MAX_RANK) throw new NodeError(`its constant operand has ${k.dims.length} dimensions, at most ${MAX_RANK} are supported`);
    const known = this.operandParams.get(c);
    if (known) return known[1];
    const layer = c.origin !== undefined ? this.weightOf.get(c.origin) : undefined;
    if (layer) throw new NodeError(`the initializer ${quote(c.origin!)} is also a weight of node ${layer}: sharing it is not supported`);
    const p = new Parameter(k.dims, k.floats, `the initializer ${quote(c.origin ?? n.name)}`);
    this.built.push(p);
    this.operandParams.set(c, [c.origin ?? `${n.name || n.opType}_constant`, p]);
    return p;
  }

  /** Values that some node reads: an output that nobody reads can be dropped (a mask, Indices). */
  private usedLater = new Set<string>();

  // ---- passes ----

  /** Folds the nodes whose inputs are all initializers or folded already (no Shape): known before any shape. */
  private foldPure(): void {
    for (const [k, v] of this.inits) this.pure.set(k, v);
    for (const n of this.nodes) {
      if (!FOLDABLE.has(n.opType) || n.opType === 'Shape' || n.domain !== '') continue;
      if (!n.inputs.every((i) => i === '' || this.pure.has(i))) continue;
      try {
        this.pure.set(n.outputs[0], fold(n, n.inputs.map((i) => this.pure.get(i) ?? null), this.opset, this.budget));
      } catch (err) {
        throw nodeError(n, err);
      }
    }
  }

  /** Lists every node that cannot be imported in one Error; returns the nodes that compute on activations. */
  private checkSupported(): DecodedNode[] {
    const staticValues = new Set(this.pure.keys());
    const bad: string[] = [];
    const dynamic: DecodedNode[] = [];
    for (const n of this.nodes) {
      for (const i of n.inputs) this.usedLater.add(i);
      if (this.pure.has(n.outputs[0])) continue;
      const isStatic = FOLDABLE.has(n.opType) && (n.opType === 'Shape' || n.inputs.every((i) => i === '' || staticValues.has(i)));
      if (n.domain !== '' || n.attributes.some((a) => a.hasGraph)) bad.push(`${nodeLabel(n)}${n.domain ? ` in domain ${quote(n.domain)}` : ' with a subgraph'}`);
      else if (isStatic) { for (const o of n.outputs) staticValues.add(o); continue; }
      else if (!Object.hasOwn(CONVERTERS, n.opType) && n.opType !== 'Identity') bad.push(nodeLabel(n));
      dynamic.push(n);
    }
    this.usedLater.add(this.output);
    if (bad.length) {
      throw new Error(`fromOnnx: ${bad.length} node${bad.length > 1 ? 's' : ''} cannot be imported (no simdnet layer or op computes them): ${listNames(bad, 20)}`);
    }
    return dynamic;
  }

  /** Each node in order: folded, aliased (Identity) or converted to a step whose output shape is worked out. */
  private convert(): Step[] {
    this.consts = new Map(this.pure);
    this.shapes = new Map([[this.input.name, this.input.shape]]);
    this.weightOf = new Map();
    const steps: Step[] = [];
    for (const n of this.nodes) {
      if (this.pure.has(n.outputs[0])) continue;
      try {
        const step = this.convertNode(n);
        if (step) steps.push(step);
      } catch (err) {
        if (err instanceof NotAChain) throw err;
        throw nodeError(n, err);
      }
    }
    if (!this.shapes.has(this.output)) throw new Error(`fromOnnx: graph.output: the output ${quote(this.output)} is ${this.consts.has(this.output) ? 'a constant' : 'not computed by any node'}, not computed from the input`);
    return steps;
  }

  private convertNode(n: DecodedNode): Step | null {
    const acts = n.inputs.filter((i) => i !== '' && this.shapes.has(i));
    if (n.opType === 'Shape' && acts.length === 1) { this.consts.set(n.outputs[0], shapeConst(n, this.shapes.get(acts[0])!)); return null; }
    if (acts.length === 0) {
      this.consts.set(n.outputs[0], fold(n, n.inputs.map((i) => (i ? this.consts.get(i) ?? null : null)), this.opset, this.budget));
      return null;
    }
    if (n.opType === 'Identity') { this.shapes.set(n.outputs[0], this.shapes.get(acts[0])!); return { node: n, inputs: acts, output: n.outputs[0], layer: null, run: (xs) => xs[0], weights: [] }; }
    const multi = n.opType === 'Add' || n.opType === 'Mul' || n.opType === 'Concat';
    if (!multi && (acts.length !== 1 || n.inputs[0] !== acts[0])) {
      throw new NodeError(`its first input must be the one value computed from the graph's input (it reads ${acts.length} such values${acts.length ? `, at input ${n.inputs.indexOf(acts[0])}` : ''})`);
    }
    for (const o of n.outputs.slice(1)) if (o && this.usedLater.has(o) && !['BatchNormalization', 'Dropout'].includes(n.opType)) throw new NodeError(`its output ${quote(o)} is used, which is not supported`);
    const step = CONVERTERS[n.opType](this, n, acts);
    if (step.layer) this.built.push(step.layer);
    for (const [, k] of step.weights) {
      // A layer runs once per forward in training, and two copies would take the file's bytes twice.
      const other = k.origin === undefined ? undefined
        : this.weightOf.get(k.origin) ?? ([...this.operandParams.values()].some(([o]) => o === k.origin) ? 'an Add or Mul' : undefined);
      if (other) throw new NodeError(`the initializer ${quote(k.origin!)} is also a weight of node ${other}: layers sharing weights are not supported`);
      if (k.origin !== undefined) this.weightOf.set(k.origin, nodeLabel(n));
    }
    for (const [name, k] of step.weights) setWeight(step.layer!, name, k);
    const inShapes = step.inputs.map((i) => this.shapes.get(i)!);
    const out = step.layer ? step.layer.outputShape(inShapes[0]) : dryRun(() => [...step.run!(inShapes.map((s) => Tensor.meta(s))).shape]);
    if (out[0] !== SHAPE_BATCH) throw new NodeError(`its output shape [${out.join(', ')}] does not keep the batch dimension first`);
    this.shapes.set(step.output, out);
    return step;
  }

  // ---- building ----

  /** A Sequential of the steps' layers, at the positions their weights' names give when those are '0', '3', ... (Identity filling gaps). */
  private sequential(steps: Step[]): OnnxImportedModel {
    const layers = steps.filter((s) => s.layer);
    // Weights named after the modules of a model of its own ('conv1.weight') keep their names in a module graph.
    if (layers.some((s) => pathHint(s) !== null && positionOf(s) === null)) throw new NotAChain();
    const wanted = layers.map((s) => positionOf(s));
    // Each named layer fits at its position after the layers before it, and the gaps (a Dropout left
    // out of an eval-mode export) stay small.
    let next = 0;
    const byName = wanted.every((w) => {
      if (w !== null && (w < next || w > 2 * layers.length + 8)) return false;
      next = (w ?? next) + 1;
      return true;
    });
    const model = new Sequential();
    const names: Record<string, string> = {};
    let count = 0;
    for (let i = 0; i < layers.length; i++) {
      const w = wanted[i];
      if (byName && w !== null) while (count < w) { model.add(new Identity()); count++; }
      const at = count++;
      model.add(layers[i].layer!);
      for (const [name, k] of layers[i].weights) if (k.origin !== undefined) names[`${at}.${name}`] = k.origin;
    }
    // The Identity layers filling gaps count too: built as JS objects only, dropped on a refusal.
    checkBuildSize(count, this.tensors, this.fileBytes, `${layers.length} layers and ${count - layers.length} Identity layers keeping their names' positions`);
    return withNames(model, names, this.input);
  }

  /** A module whose forward runs the steps in order; layers placed at the paths their weights' names give. */
  private graphModule(steps: Step[]): OnnxImportedModel {
    const root = new OnnxGraphModule(steps, this.input.name, this.output);
    const names: Record<string, string> = {};
    for (const s of steps) {
      if (!s.layer) continue;
      const path = place(root, s.layer, pathHint(s) ?? scopePath(s.node), fallbackName(s.node));
      for (const [name, k] of s.weights) if (k.origin !== undefined) names[`${path}.${name}`] = k.origin;
    }
    for (const [origin, p] of this.operandParams.values()) {
      const path = placeParameter(root, p, origin);
      names[path] = origin;
    }
    // The containers made for the layers' paths count too: built as JS objects only, dropped on a refusal.
    const modules = root.modules().length - 1, ops = steps.filter((s) => !s.layer).length;
    checkBuildSize(modules + ops, this.tensors, this.fileBytes, `${modules} layers and containers of their paths, ${ops} ops`);
    return withNames(root, names, this.input);
  }
}

/**
 * Attaches the map of state-dict names to initializer names and the input's sample shape
 * (non-enumerable properties: neither children nor parameters).
 */
function withNames(m: Module, names: Record<string, string>, input: GraphInput): OnnxImportedModel {
  Object.defineProperty(m, 'onnxNames', { value: Object.freeze(names), enumerable: false });
  Object.defineProperty(m, 'onnxInputShape', { value: Object.freeze(input.shape.slice(1)), enumerable: false });
  return m as OnnxImportedModel;
}

/** A Shape node on an activation: its dims, the batch symbolic ('start' and 'end' of opset 15 honoured). */
function shapeConst(n: DecodedNode, shape: number[]): Const {
  const full: Int[] = [BATCH, ...shape.slice(1)];
  const r = full.length;
  const clampAt = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clampAt(attr(n, 'start')?.i ?? 0), end = clampAt(attr(n, 'end')?.i ?? r);
  const vals = full.slice(start, Math.max(start, end));
  return { dims: [vals.length], floats: null, ints: vals };
}

function nodeError(n: DecodedNode, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`fromOnnx: node ${nodeLabel(n)} (graph.node[${n.index}]): ${msg}`, { cause: err });
}

/** The one graph input that is not an initializer, with a known shape after its batch dimension. */
function graphInput(g: DecodedGraph, inits: Map<string, Const>): GraphInput {
  const inputs = g.inputs.filter((v) => !inits.has(v.name));
  if (inputs.length !== 1) throw new Error(`fromOnnx: graph.input: the graph has ${inputs.length} inputs besides its initializers; one is supported`);
  const v = inputs[0];
  const where = `fromOnnx: graph.input ${quote(v.name)}`;
  if (v.elemType !== 1) throw new Error(`${where}: its element type must be float32, got ${v.elemType === 0 ? 'no tensor type' : `data type ${v.elemType}`}`);
  const s = v.shape;
  if (!s || s.length < 2 || s.length > MAX_RANK) throw new Error(`${where}: its shape must be [batch, ...] of rank 2 to ${MAX_RANK}, got ${s ? `rank ${s.length}` : 'none'}`);
  const rest = s.slice(1);
  if (!rest.every((d) => typeof d === 'number' && d >= 1 && d <= 2 ** 24)) {
    throw new Error(`${where}: the dimensions after the batch must be known positive sizes (at most 2^24), got [${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]`);
  }
  return { name: v.name, shape: [SHAPE_BATCH, ...(rest as number[])], declaredBatch: typeof s[0] === 'number' ? s[0] : null };
}

/** Every node reads only values defined before it (so there is no cycle), and no value is defined twice. */
function checkDefinitions(g: DecodedGraph, input: string, inits: Map<string, Const>): void {
  const defined = new Set<string>([input, ...inits.keys()]);
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !defined.has(i)) {
        throw new Error(`fromOnnx: node ${nodeLabel(n)} (graph.node[${n.index}]) reads ${quote(i)}, which neither the input, an initializer nor an earlier node defines (a missing input, or a cycle)`);
      }
    }
    for (const o of n.outputs) {
      if (o === '') continue;
      if (defined.has(o)) throw new Error(`fromOnnx: node ${nodeLabel(n)} (graph.node[${n.index}]) defines ${quote(o)} a second time`);
      defined.add(o);
    }
    if (n.outputs.length === 0 || n.outputs[0] === '') throw new Error(`fromOnnx: node ${nodeLabel(n)} (graph.node[${n.index}]) has no output`);
  }
  const out = g.outputs[0]?.name;
  if (out !== undefined && !defined.has(out)) throw new Error(`fromOnnx: graph.output: ${quote(out)} is defined by no node`);
}

/** The nodes the output depends on, in order: the others would compute values nobody reads. */
function live(nodes: DecodedNode[], output: string): DecodedNode[] {
  const needed = new Set([output]);
  const keep: DecodedNode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    keep.push(n);
    for (const x of n.inputs) needed.add(x);
  }
  return keep.reverse();
}

/** Whether the nodes on activations form one chain from the input to the output, each a layer. */
function isChain(dynamic: DecodedNode[], input: string, output: string): boolean {
  const readers = new Map<string, number>();
  for (const n of dynamic) for (const i of new Set(n.inputs)) readers.set(i, (readers.get(i) ?? 0) + 1);
  let prev = input;
  for (const n of dynamic) {
    if (!CHAIN_OPS.has(n.opType) || !n.inputs.includes(prev) || readers.get(prev) !== 1) return false;
    prev = n.outputs[0];
  }
  return prev === output;
}

/** The float values of a weight, refused when one is NaN or infinite (as loadStateDict refuses them). */
function finite(k: Const): Float32Array {
  const values = materialize(k).floats!;
  const at = values.findIndex((v) => !Number.isFinite(v));
  if (at >= 0) throw new NodeError(`the initializer ${quote(k.origin ?? '(computed)')} holds a non-finite value (${values[at]}) at index ${at}`);
  return values;
}

/** Copies an initializer's values into a layer's parameter or buffer. */
function setWeight(layer: Module, name: string, k: Const): void {
  const target = layer.stateDict()[name];
  const values = finite(k);
  if (!target || target.size !== values.length) throw new NodeError(`the weight ${name} does not fit the layer`);
  target.view().set(values);
}

/** The Sequential position a layer's weights name ('3' for '3.weight'), or null. */
function positionOf(s: Step): number | null {
  const hint = pathHint(s);
  return hint !== null && /^(0|[1-9]\d{0,5})$/.test(hint) ? Number(hint) : null;
}

const SUFFIXES = /\.(weight|bias|running_mean|running_var)$/;

/** The module path the layer's initializer names agree on ('layer1.0.conv1'), or null. */
function pathHint(s: Step): string | null {
  const prefixes = s.weights.map(([name, k]) => (k.origin && SUFFIXES.test(k.origin) && k.origin.endsWith(`.${name}`) ? k.origin.slice(0, -name.length - 1) : null));
  if (prefixes.length === 0 || prefixes.some((p) => p === null || p !== prefixes[0])) return null;
  return prefixes[0];
}

/**
 * The module path in a node name as torch.onnx.export writes it: '/layer1/conv1/Conv' →
 * 'layer1.conv1', '/block/conv/conv.0/Conv' → 'block.conv.0' (a child of a Sequential is named
 * with its parent's name before it). Null for names of another form.
 */
function scopePath(n: DecodedNode): string | null {
  const m = /^\/(.+)\/[A-Za-z]+(_\d+)?$/.exec(n.name);
  if (!m) return null;
  const out: string[] = [];
  for (const part of m[1].split('/')) {
    if (part === '') return null;
    if (out.length && part.startsWith(`${out[out.length - 1]}.`)) out[out.length - 1] = part;
    else out.push(part);
  }
  return out.join('.');
}

/** A child name from a node's name: its characters outside [A-Za-z0-9_] made '_'. */
function fallbackName(n: DecodedNode): string {
  const base = (n.name || `${n.opType}_${n.index}`).replace(/^\/+/, '').replace(/[^A-Za-z0-9_]/g, '_').slice(0, 100);
  return /^[0-9]/.test(base) || base === '' ? `n_${base}` : base;
}

/** A free child name on `m`: itself, or with _1, _2, ... after it; never a member of Module. */
function freeName(m: Module, base: string): string {
  let name = base;
  for (let i = 1; name in m || Object.hasOwn(m, name); i++) name = `${base}_${i}`;
  return name;
}

/**
 * The module that would hold dotted `path` ('layer1.0.conv1') below root and the last name, with
 * holders made for the parents that do not exist yet; null when a name on the way is empty or
 * taken by anything but such a holder, or the last name is taken.
 */
function holderOf(root: Module, path: string): { holder: Module; last: string } | null {
  const parts = path.split('.');
  if (!parts.every((p) => p !== '')) return null;
  let at: Module = root;
  for (const part of parts.slice(0, -1)) {
    const v = (at as unknown as Record<string, unknown>)[part];
    if (v instanceof OnnxBlock && Object.hasOwn(at, part)) at = v;
    else if (v === undefined && !(part in at)) { const b = new OnnxBlock(); (at as unknown as Record<string, unknown>)[part] = b; at = b; }
    else return null;
  }
  const last = parts[parts.length - 1];
  return last in at ? null : { holder: at, last };
}

/** Places a layer at `hint` (holders made for its parents) when that path is free, else at a name of its own on the root; returns its path. */
function place(root: Module, layer: Module, hint: string | null, fallback: string): string {
  if (hint !== null) {
    const at = holderOf(root, hint);
    if (at) { (at.holder as unknown as Record<string, unknown>)[at.last] = layer; return hint; }
  }
  const name = freeName(root, fallback);
  (root as unknown as Record<string, unknown>)[name] = layer;
  return name;
}

/** Registers a Parameter read by a functional op at its initializer's name ('block.gain'), else at a name of its own; returns its state-dict name. */
function placeParameter(root: Module, p: Parameter, origin: string): string {
  const at = holderOf(root, origin);
  if (at) { at.holder.registerParameter(at.last, p); return origin; }
  const name = freeName(root, origin.replace(/[^A-Za-z0-9_]/g, '_') || 'constant');
  root.registerParameter(name, p);
  return name;
}

/**
 * A module of an imported ONNX graph that is not a chain: its forward runs the graph's steps in
 * the file's order (layers registered as its children at the paths their weights' names give,
 * functional ops between them). Built by `sn.fromOnnx`; trains and saves as any module.
 */
export class OnnxGraphModule extends Module {
  /** The steps, each reading and writing values by slot (the input is slot 0). */
  readonly #steps: { inputs: Int32Array; output: number; layer: Module | null; run: Step['run'] }[];
  readonly #slots: number;
  readonly #output: number;

  /** @internal Built by fromOnnx. */
  constructor(steps: Step[], input: string, output: string) {
    super();
    // Values by slot, not by name, and no decoded nodes (whose attributes nothing reads): what a
    // Concat of many inputs keeps stays within twice the file's size, 4 bytes an input where the
    // file takes 3 at least (a name string would take 20, an array slot 8).
    const slot = new Map<string, number>([[input, 0]]);
    this.#steps = steps.map((s) => {
      const inputs = Int32Array.from(s.inputs, (i) => slot.get(i)!);
      slot.set(s.output, slot.size);
      return { inputs, output: slot.size - 1, layer: s.layer, run: s.run };
    });
    this.#slots = slot.size;
    this.#output = slot.get(output)!;
  }

  /** Runs the graph on x ([N, ...] as the file's input, any batch size N); returns its output. */
  override forward(x: Tensor): Tensor {
    const values = new Array<Tensor>(this.#slots);
    values[0] = x;
    for (const s of this.#steps) {
      const xs = Array.from(s.inputs, (i) => values[i]);
      values[s.output] = s.layer ? s.layer.forward(xs[0]) : s.run!(xs);
    }
    return values[this.#output];
  }
}

/** A container of an imported graph's modules (as the Sequentials and blocks of the model exported): it has no forward of its own. */
export class OnnxBlock extends Module {
  /** Refuses to run: the graph module above it calls its children. */
  override forward(_x: Tensor): Tensor {
    throw new Error(`${this.label()}: a container of an imported ONNX graph's modules has no forward of its own; run the whole model`);
  }
}

/**
 * Fuses patterns of several nodes that are one layer: MatMul + Add of a bias (Linear), the Erf
 * form of GELU, x·HardSigmoid(x) (Hardswish before opset 14) and x·Sigmoid(x) (SiLU). The fused
 * node takes the last node's place; the others are dropped. Intermediate values must have no
 * other reader.
 */
function fusePatterns(nodes: DecodedNode[], consts: Map<string, Const>, output: string): DecodedNode[] {
  const readers = new Map<string, DecodedNode[]>();
  for (const n of nodes) for (const i of n.inputs) { if (!readers.has(i)) readers.set(i, []); readers.get(i)!.push(n); }
  const producer = new Map<string, DecodedNode>();
  for (const n of nodes) producer.set(n.outputs[0], n);
  const only = (v: string): DecodedNode | null => (v !== output && readers.get(v)?.length === 1 ? readers.get(v)![0] : null);
  const scalar = (v: string, x: number) => { const k = consts.get(v); return !!k?.floats && k.floats.length === 1 && Math.abs(k.floats[0] - x) < 1e-4 * Math.abs(x); };
  const other = (n: DecodedNode, v: string) => (n.inputs[0] === v ? n.inputs[1] : n.inputs[0]);
  const drop = new Set<DecodedNode>();
  const replace = new Map<DecodedNode, DecodedNode>();
  const fuse = (group: DecodedNode[], opType: string, inputs: string[]) => {
    const last = group.reduce((a, b) => (a.index > b.index ? a : b));
    for (const g of group) drop.add(g);
    replace.set(last, { ...last, opType, inputs, outputs: [last.outputs[0]], attributes: [], name: last.name });
  };
  for (const n of nodes) {
    if (drop.has(n) || n.domain !== '') continue;
    if (n.opType === 'MatMul' && consts.has(n.inputs[1])) {
      const add = only(n.outputs[0]);
      const bias = add && add.opType === 'Add' ? other(add, n.outputs[0]) : null;
      if (add && bias && consts.get(bias)?.floats && consts.get(bias)!.dims.length === 1) fuse([n, add], '#Linear', [n.inputs[0], n.inputs[1], bias]);
    } else if (n.opType === 'Erf') fuseGelu(n);
    else if ((n.opType === 'HardSigmoid' || n.opType === 'Sigmoid') && n.inputs.length === 1) {
      const m = only(n.outputs[0]);
      const hs = n.opType === 'HardSigmoid';
      if (hs && !(Math.abs((attr(n, 'alpha')?.f ?? 0.2) - 1 / 6) < 1e-6 && Math.abs((attr(n, 'beta')?.f ?? 0.5) - 0.5) < 1e-6)) continue;
      if (m && m.opType === 'Mul' && other(m, n.outputs[0]) === n.inputs[0]) fuse([n, m], hs ? '#Hardswish' : '#SiLU', [n.inputs[0]]);
    }
  }
  function fuseGelu(e: DecodedNode): void {
    const d = producer.get(e.inputs[0]);
    if (!d || only(d.outputs[0]) !== e) return;
    const x = d.inputs[0];
    if (!((d.opType === 'Div' && scalar(d.inputs[1], Math.SQRT2)) || (d.opType === 'Mul' && scalar(d.inputs[1], Math.SQRT1_2)))) return;
    const a = only(e.outputs[0]);
    if (!a || a.opType !== 'Add' || !scalar(other(a, e.outputs[0]), 1)) return;
    const m1 = only(a.outputs[0]);
    if (!m1 || m1.opType !== 'Mul') return;
    const o = other(m1, a.outputs[0]);
    if (o === x) {
      const m2 = only(m1.outputs[0]);
      if (m2 && m2.opType === 'Mul' && scalar(other(m2, m1.outputs[0]), 0.5)) fuse([d, e, a, m1, m2], '#GELU', [x]);
      return;
    }
    const h = producer.get(o);
    if (h && h.opType === 'Mul' && only(o) === m1 && h.inputs.includes(x) && scalar(other(h, x), 0.5)) fuse([h, d, e, a, m1], '#GELU', [x]);
  }
  return nodes.filter((n) => !drop.has(n) || replace.has(n)).map((n) => replace.get(n) ?? n);
}

