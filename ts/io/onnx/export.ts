// A model to ONNX: model.toOnnx({ inputShape, opset }). A Sequential of built-in layers (nested
// Sequentials included) becomes a chain of ONNX operators in inference form (eval mode:
// BatchNormalization with the running statistics, Dropout left out), with a symbolic batch
// dimension 'N' and the weights as initializers named after the state dict. Any other module
// (a module of your own, the models of sn.models) is traced: its forward runs as a shape-only
// dry run, and every layer call and functional op (sn.add, sn.cat, sn.mean, ...) becomes nodes.
import { Module, withLayerTracer } from '../../module.js';
import { currentFrame, dryRun, pathOf } from '../../autograd/state.js';
import { withOpTracer } from '../../functional/site.js';
import { Tensor, formatShape } from '../../tensor.js';
import { layerTypeOf } from '../../registry.js';
import { saveTrainingFlags } from '../../module-tree.js';
import { checkOptions, checkOptionsObject, describe, integer, type Rule } from '../../options.js';
import type { Conv2d } from '../../layers/conv2d.js';
import type { Linear } from '../../layers/linear.js';
import type { MaxPool2d } from '../../layers/maxpool2d.js';
import type { AvgPool2d } from '../../layers/avgpool2d.js';
import type { AdaptiveAvgPool2d } from '../../layers/adaptive-avgpool2d.js';
import type { BatchNorm2d } from '../../layers/batchnorm.js';
import type { Flatten } from '../../layers/flatten.js';
import { encodeModel } from './encode.js';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from './schema.js';

/** The default operator set (ai.onnx opset 17: ONNX 1.12, read by ONNX Runtime 1.12 and later). */
export const DEFAULT_OPSET = 17;
/** The oldest operator set written (13: Softmax over one axis, as PyTorch's). */
export const MIN_OPSET = 13;
/** The newest operator set written (21: ONNX 1.16). */
export const MAX_OPSET = 21;
/** The symbolic name of the batch dimension. */
export const BATCH_DIM = 'N';

/** The options of `model.toOnnx()`. */
export interface OnnxExportOptions {
  /** The shape of one sample, without the batch dimension, as `summary` takes it: [1, 28, 28] for MNIST. Required. */
  inputShape: readonly number[];
  /** The ai.onnx operator set to write against, 13 to 21. Default 17. */
  opset?: number;
}

const shapeRule: Rule = {
  expected: 'the shape of one sample without the batch dimension (an array of positive integers, such as [1, 28, 28])',
  test: (v) => Array.isArray(v) && v.length >= 1 && v.length <= 8 && v.every((d) => Number.isSafeInteger(d) && d >= 1),
};

/** The IR version that goes with each operator set (onnx/helper.py's VERSION_TABLE): the oldest that has it. */
function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** The ONNX bytes of `model` (see Module.toOnnx). */
export function modelToOnnx(model: Module, options: OnnxExportOptions): Uint8Array {
  const fn = 'toOnnx';
  if (!(model instanceof Module)) throw new Error(`${fn}: expected a model (Module), got ${describe(model)}`);
  checkOptionsObject(fn, options, ['inputShape', 'opset']);
  checkOptions(fn, options, { inputShape: shapeRule, opset: integer() });
  if (options.inputShape === undefined) {
    throw new Error(`${fn}: inputShape is required: the shape of one sample without the batch dimension, as summary() takes it (such as [1, 28, 28])`);
  }
  const opset = options.opset ?? DEFAULT_OPSET;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(`${fn}: opset must be an ai.onnx operator set from ${MIN_OPSET} to ${MAX_OPSET}, got ${describe(opset)}`);
  }
  const b = new GraphBuilder(opset, model);
  // The graph is the eval-mode forward, whatever mode the model is in (as torch.onnx.export's
  // default): shapes are checked and the forward traced in eval mode.
  const [value, shape] = inEvalMode(model, () => exportNodes(b, model, [1, ...options.inputShape]));
  const outputName = 'output';
  if (value === 'input') b.node('Identity', 'Identity', [value], [], outputName);
  else b.rename(value, outputName);
  const graph: OnnxGraph = {
    name: layerTypeOf(model) ?? model.label(),
    nodes: b.nodes,
    initializers: b.initializers,
    inputs: [{ name: 'input', dataType: 'float32', shape: [BATCH_DIM, ...options.inputShape] }],
    outputs: [{ name: outputName, dataType: 'float32', shape: [BATCH_DIM, ...shape.slice(1)] }],
  };
  return encodeModel({ irVersion: irVersionFor(opset), opset, producerName: 'simdnet', producerVersion: '', graph });
}

/** Adds the nodes of the model's forward at `inputShape` (batch 1) to `b`; returns the output value and its shape. */
function exportNodes(b: GraphBuilder, model: Module, inputShape: number[]): [string, number[]] {
  const layers = chainOf(model);
  if (layers === null) {
    const [value, shape] = traceForward(b, model, inputShape);
    checkBatchIndependent(b, model, inputShape, shape);
    return [value, shape];
  }
  let value = 'input';
  let shape = inputShape;
  for (const [path, layer] of layers) {
    let outShape: number[];
    try {
      outShape = layer.outputShape(shape);
    } catch (err) {
      throw new Error(`toOnnx: layer '${path}' (${layer}) does not take the input shape ${formatShape(shape)} (batch 1): ${(err as Error).message}`, { cause: err });
    }
    value = exportLayer(b, path, layer, value, shape, outShape);
    shape = outShape;
  }
  return [value, shape];
}

/**
 * The layers of a Sequential in the order they run, with their state-dict paths ('0', '3.1'):
 * nested Sequentials are opened. Null for anything else (a module of its own somewhere), which
 * is traced instead.
 */
function chainOf(model: Module): [string, Module][] | null {
  if (layerTypeOf(model) !== 'Sequential') return null;
  const out: [string, Module][] = [];
  const walk = (m: Module, prefix: string): boolean => {
    for (const [name, child] of m.children()) {
      const path = prefix ? `${prefix}.${name}` : name;
      const type = layerTypeOf(child);
      if (type === 'Sequential') { if (!walk(child, path)) return false; }
      else if (type === null) return false;
      else out.push([path, child]);
    }
    return true;
  };
  return walk(model, '') ? out : null;
}

/** The functional ops that are activations, as the layer types that emit the same nodes. */
const ACTIVATION_OPS: Readonly<Record<string, string>> = {
  'sn.relu': 'ReLU', 'sn.leakyRelu': 'LeakyReLU', 'sn.sigmoid': 'Sigmoid', 'sn.tanh': 'Tanh', 'sn.relu6': 'ReLU6',
  'sn.hardswish': 'Hardswish', 'sn.silu': 'SiLU', 'sn.gelu': 'GELU', 'sn.elu': 'ELU', 'sn.softmax': 'Softmax', 'sn.logSoftmax': 'LogSoftmax',
};

/**
 * Runs the model's forward on a shape-only input of batch 1, turning each layer call and each
 * functional op into nodes; returns the output's value name and shape. A reshape's first
 * dimension is taken to be the batch (written as -1), as in a CNN's sn.flatten(x, 1) or
 * sn.reshape(w, [-1, C, 1, 1]).
 */
function traceForward(b: GraphBuilder, model: Module, inputShape: number[]): [string, number[]] {
  const input = Tensor.meta(inputShape);
  const names = new Map<Tensor, string>([[input, 'input']]);
  const here = (): string => { const f = currentFrame(); return f ? pathOf(f) || model.label() : model.label(); };
  const valueOf = (t: Tensor | number, where: string): string => {
    if (typeof t === 'number') return b.scalar(`${where}.onnx_scalar`, t);
    const known = names.get(t) ?? b.stateName(t);
    if (known !== undefined) return names.has(t) ? known : b.weight(known, t);
    if (!t.isMeta && t.dtype === 'float32') return b.constant(`${where}.onnx_constant`, [...t.shape], t.toArray());
    throw new Error(`toOnnx: ${where} reads a tensor of shape ${formatShape(t.shape)} that comes neither from the model's input nor from its weights`);
  };
  const y = withLayerTracer((frame, layer, x, out) => {
    const path = pathOf(frame);
    names.set(out, exportLayer(b, path, layer, valueOf(x, path), [...x.shape], [...out.shape]));
  }, () => withOpTracer((op, inputs, attrs, out) => {
    const path = here();
    const xs = inputs.map((t) => valueOf(t, path));
    names.set(out, exportOp(b, path, op, xs, inputs, attrs, [...out.shape]));
  }, () => dryRun(() => model.forward(input))));
  if (!(y instanceof Tensor)) throw new Error(`toOnnx: ${model.label()}.forward() returned ${describe(y)}, not a Tensor`);
  const name = names.get(y);
  if (name === undefined) throw new Error(`toOnnx: the output of ${model.label()}.forward() comes neither from a layer nor from a functional op`);
  return [name, [...y.shape]];
}

const BATCH_BOUND = 'a reshape whose first dimension is not the batch, or a tensor made inside forward() from the batch size, gives a graph for one batch size only';

/**
 * Traces the forward again at batch 2 and refuses a graph that differs from batch 1's: a
 * reshape to a shape that is not [batch, ...] or a tensor made inside forward() from the batch
 * size would give an export that is right for one batch size only.
 */
function checkBatchIndependent(b: GraphBuilder, model: Module, inputShape: number[], shape: number[]): void {
  const again = new GraphBuilder(b.opset, model);
  const [, shape2] = traceForward(again, model, [2, ...inputShape.slice(1)]);
  const constants = (g: GraphBuilder) => g.initializers.filter((t) => !g.isStateName(t.name));
  for (let i = 0; i < Math.max(b.nodes.length, again.nodes.length); i++) {
    const n1 = b.nodes[i], n2 = again.nodes[i];
    if (JSON.stringify(n1) !== JSON.stringify(n2)) {
      throw new Error(`toOnnx: the traced graph depends on the batch size at node ${(n1 ?? n2).name} (${(n1 ?? n2).opType}): ${BATCH_BOUND}`);
    }
  }
  const c1 = constants(b), c2 = constants(again);
  c1.forEach((t, i) => {
    const u = c2[i];
    if (JSON.stringify([t.name, t.dims, Array.from(t.data)]) !== JSON.stringify([u?.name, u?.dims, u && Array.from(u.data)])) {
      throw new Error(`toOnnx: the traced graph depends on the batch size at the constant ${t.name} (shape ${formatShape(t.dims)}): ${BATCH_BOUND}`);
    }
  });
  if (shape2[0] !== 2 || shape2.length !== shape.length || shape2.some((d, i) => i > 0 && d !== shape[i])) {
    throw new Error(`toOnnx: the output's first dimension is not the batch: ${formatShape(shape)} at batch 1, ${formatShape(shape2)} at batch 2`);
  }
}

/** Runs fn with every module of the model in eval mode (the graph is the eval-mode forward), then puts each mode back. */
function inEvalMode<T>(model: Module, fn: () => T): T {
  const restore = saveTrainingFlags(model);
  model.eval();
  try {
    return fn();
  } finally {
    restore();
  }
}

/** Adds the nodes of one functional op; returns its output value. */
function exportOp(b: GraphBuilder, path: string, op: string, xs: string[], inputs: readonly (Tensor | number)[],
  attrs: Readonly<Record<string, unknown>>, outShape: number[]): string {
  const activation = ACTIVATION_OPS[op];
  if (activation !== undefined) {
    const y = emitActivation(b, path, activation, xs[0], (inputs[0] as Tensor).shape.length, {
      negativeSlope: attrs.negativeSlope as number | undefined, alpha: attrs.alpha as number | undefined,
      approximate: attrs.approximate as 'tanh' | undefined, dim: attrs.dim as number | undefined,
    });
    if (y === null) throw new Error(`toOnnx: ${path}: ${op} along the batch dimension cannot be exported`);
    return y;
  }
  switch (op) {
    case 'sn.add': return b.node(path, 'Add', xs);
    case 'sn.mul': return b.node(path, 'Mul', xs);
    case 'sn.cat': return b.node(path, 'Concat', xs, [int('axis', attrs.dim as number)]);
    case 'sn.mean': {
      const axes = attrs.dims as number[];
      const keepdims = int('keepdims', attrs.keepdim ? 1 : 0);
      if (b.opset >= 18) return b.node(path, 'ReduceMean', [xs[0], b.constant(`${path}.onnx_axes`, [axes.length], axes)], [keepdims]);
      return b.node(path, 'ReduceMean', xs, [ints('axes', axes), keepdims]);
    }
    case 'sn.flatten':
    case 'sn.reshape': {
      const target = outShape.length ? [-1, ...outShape.slice(1)] : [];
      return b.node(path, 'Reshape', [xs[0], b.constant(`${path}.onnx_shape`, [target.length], target)]);
    }
    default:
      throw new Error(`toOnnx: ${path}: the functional op ${op} has no ONNX form here`);
  }
}

/** Collects nodes and initializers, naming values uniquely. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>(['input', 'output']);
  /** The state-dict name of each parameter and buffer tensor. */
  private readonly stateNames = new Map<Tensor, string>();

  constructor(readonly opset: number, model: Module) {
    for (const [name, t] of Object.entries(model.stateDict())) this.stateNames.set(t, name);
  }

  /** The state-dict name of a weight, if it is one. */
  stateName(t: Tensor): string | undefined { return this.stateNames.get(t); }

  /** Whether `name` is a state-dict name. */
  isStateName(name: string): boolean { return [...this.stateNames.values()].includes(name); }

  /** A unique value or node name built from `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns its output's name (`output` when given, else a fresh one). */
  node(name: string, opType: string, inputs: string[], attributes: OnnxAttribute[] = [], output?: string): string {
    const out = output ?? this.unique(`${name}/${opType}_output`);
    this.nodes.push({ name: this.unique(`${name}/${opType}`), opType, inputs, outputs: [out], attributes });
    return out;
  }

  /** A weight from the state dict, under its state-dict name. */
  weight(fallback: string, t: Tensor): string {
    const name = this.stateNames.get(t) ?? fallback;
    // A layer that runs twice in the chain has its weights once.
    if (this.initializers.some((i) => i.name === name)) return name;
    this.used.add(name);
    this.initializers.push({ name, dims: [...t.shape], dataType: 'float32', data: t.toArray() });
    return name;
  }

  /** A constant (not in the state dict): a float tensor or an int64 one. */
  constant(base: string, dims: number[], data: Float32Array | number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, dataType: data instanceof Float32Array ? 'float32' : 'int64', data });
    return name;
  }

  /** A float scalar constant. */
  scalar(base: string, v: number): string { return this.constant(base, [], Float32Array.of(v)); }

  /** Renames the value `from` (the last node's output) to `to`. */
  rename(from: string, to: string): void {
    for (const n of this.nodes) {
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
    }
  }
}

const ints = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value });
const int = (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value });
const float = (name: string, value: number): OnnxAttribute => ({ name, type: 'float', value });

function refuse(path: string, layer: Module, why: string): never {
  throw new Error(`toOnnx: layer '${path}' (${layer}) cannot be expressed in ONNX: ${why}`);
}

/**
 * Adds the nodes of one layer of type `type` reading value `x` of shape `inShape` (its output
 * `outShape`); returns the output value.
 */
type LayerExporter = (b: GraphBuilder, path: string, layer: Module, x: string, inShape: number[], outShape: number[], type: string) => string;

/** Adds the nodes of one layer by its type's exporter (LAYER_EXPORTERS); refuses a type without one. */
function exportLayer(b: GraphBuilder, path: string, layer: Module, x: string, inShape: number[], outShape: number[]): string {
  const type = layerTypeOf(layer);
  if (type === null || !Object.hasOwn(LAYER_EXPORTERS, type)) refuse(path, layer, `no ONNX form is defined for ${type ?? layer.label()}`);
  return LAYER_EXPORTERS[type](b, path, layer, x, inShape, outShape, type);
}

const exportConv2d: LayerExporter = (b, path, layer, x) => {
  const c = layer as Conv2d;
  const [KH, KW] = c.kernelSize;
  let pads: number[];
  if (c.padding === 'valid') pads = [0, 0, 0, 0];
  else if (c.padding === 'same') {
    const total = [c.dilation[0] * (KH - 1), c.dilation[1] * (KW - 1)];
    const before = [total[0] >> 1, total[1] >> 1];
    pads = [before[0], before[1], total[0] - before[0], total[1] - before[1]];
  } else pads = [c.padding[0], c.padding[1], c.padding[0], c.padding[1]];
  const inputs = [x, b.weight(`${path}.weight`, c.weight.data)];
  if (c.bias) inputs.push(b.weight(`${path}.bias`, c.bias.data));
  return b.node(path, 'Conv', inputs, [
    ints('kernel_shape', [KH, KW]), ints('strides', [...c.stride]), ints('pads', pads),
    ints('dilations', [...c.dilation]), int('group', c.groups),
  ]);
};

const exportLinear: LayerExporter = (b, path, layer, x, inShape) => {
  const l = layer as Linear;
  const w = b.weight(`${path}.weight`, l.weight.data);
  const bias = l.bias ? b.weight(`${path}.bias`, l.bias.data) : null;
  if (inShape.length === 2) return b.node(path, 'Gemm', bias ? [x, w, bias] : [x, w], [int('transB', 1)]);
  // [*, in] × Wᵀ: MatMul broadcasts over the leading dimensions, then the bias is added.
  const wt = b.node(path, 'Transpose', [w], [ints('perm', [1, 0])]);
  const y = b.node(path, 'MatMul', [x, wt]);
  return bias ? b.node(path, 'Add', [y, bias]) : y;
};

const exportMaxPool2d: LayerExporter = (b, path, layer, x) => {
  const p = layer as MaxPool2d;
  return b.node(path, 'MaxPool', [x], [
    ints('kernel_shape', [...p.kernel]), ints('strides', [...p.stride]),
    ints('pads', [p.padding[0], p.padding[1], p.padding[0], p.padding[1]]),
    ints('dilations', [...p.dilation]), int('ceil_mode', p.ceilMode ? 1 : 0),
  ]);
};

const exportAvgPool2d: LayerExporter = (b, path, layer, x) => {
  const p = layer as AvgPool2d;
  let countIncludePad = p.countIncludePad;
  if (p.divisorOverride !== undefined) {
    // Every window divided by its full size is count_include_pad without ceil mode's clipped windows.
    if (p.divisorOverride !== p.kernel[0] * p.kernel[1] || p.ceilMode) {
      refuse(path, layer, `divisor_override ${p.divisorOverride} has no ONNX equivalent (only the kernel's area, ${p.kernel[0] * p.kernel[1]}, without ceil mode)`);
    }
    countIncludePad = true;
  }
  return b.node(path, 'AveragePool', [x], [
    ints('kernel_shape', [...p.kernel]), ints('strides', [...p.stride]),
    ints('pads', [p.padding[0], p.padding[1], p.padding[0], p.padding[1]]),
    int('count_include_pad', countIncludePad ? 1 : 0), int('ceil_mode', p.ceilMode ? 1 : 0),
  ]);
};

const exportAdaptiveAvgPool2d: LayerExporter = (b, path, layer, x, inShape) => {
  const p = layer as AdaptiveAvgPool2d;
  const [, , H, W] = inShape;
  const [oh, ow] = p.size;
  if (oh === 1 && ow === 1) return b.node(path, 'GlobalAveragePool', [x]);
  if (H % oh !== 0 || W % ow !== 0) {
    refuse(path, layer, `the input's ${H}×${W} does not divide into ${oh}×${ow} equal windows, which AveragePool would need`);
  }
  return b.node(path, 'AveragePool', [x], [ints('kernel_shape', [H / oh, W / ow]), ints('strides', [H / oh, W / ow])]);
};

const exportBatchNorm: LayerExporter = (b, path, layer, x) => {
  const bn = layer as BatchNorm2d;
  if (!bn.runningMean || !bn.runningVar) {
    refuse(path, layer, 'without running statistics (trackRunningStats: false) it normalises with each batch\'s own, which BatchNormalization\'s inference form cannot');
  }
  const C = bn.numFeatures;
  const scale = bn.weight ? b.weight(`${path}.weight`, bn.weight.data) : b.constant(`${path}.onnx_scale`, [C], new Float32Array(C).fill(1));
  const bias = bn.bias ? b.weight(`${path}.bias`, bn.bias.data) : b.constant(`${path}.onnx_bias`, [C], new Float32Array(C));
  const mean = b.weight(`${path}.running_mean`, bn.runningMean);
  const variance = b.weight(`${path}.running_var`, bn.runningVar);
  return b.node(path, 'BatchNormalization', [x, scale, bias, mean, variance], [float('epsilon', bn.eps)]);
};

const exportActivation: LayerExporter = (b, path, layer, x, inShape, _outShape, type) => {
  const a = layer as unknown as ActivationParams;
  const y = emitActivation(b, path, type, x, inShape.length, { negativeSlope: a.negativeSlope, alpha: a.alpha, approximate: a.approximate, dim: a.dim });
  if (y === null) refuse(path, layer, 'it normalises along the batch dimension');
  return y;
};

const exportFlatten: LayerExporter = (b, path, layer, x, inShape, outShape) => {
  const f = layer as Flatten;
  const start = f.startDim < 0 ? f.startDim + inShape.length : f.startDim;
  const end = f.endDim < 0 ? f.endDim + inShape.length : f.endDim;
  if (start === 0) refuse(path, layer, 'it merges the batch dimension into others');
  if (start === 1 && end === inShape.length - 1) return b.node(path, 'Flatten', [x], [int('axis', 1)]);
  // Reshape: 0 keeps the (symbolic) batch size, the rest are known.
  const target = [0, ...outShape.slice(1)];
  return b.node(path, 'Reshape', [x, b.constant(`${path}.onnx_shape`, [target.length], target)]);
};

/** The identity at inference: the input value itself. */
const exportIdentity: LayerExporter = (_b, _path, _layer, x) => x;

/** Each layer type's exporter, by the type name the registry gives it (layerTypeOf). */
const LAYER_EXPORTERS: Readonly<Record<string, LayerExporter>> = {
  Conv2d: exportConv2d, Linear: exportLinear, MaxPool2d: exportMaxPool2d, AvgPool2d: exportAvgPool2d,
  AdaptiveAvgPool2d: exportAdaptiveAvgPool2d, BatchNorm1d: exportBatchNorm, BatchNorm2d: exportBatchNorm,
  ReLU: exportActivation, Sigmoid: exportActivation, Tanh: exportActivation, ReLU6: exportActivation,
  Hardswish: exportActivation, SiLU: exportActivation, LeakyReLU: exportActivation, ELU: exportActivation,
  GELU: exportActivation, Softmax: exportActivation, LogSoftmax: exportActivation,
  Flatten: exportFlatten, Dropout: exportIdentity, Dropout2d: exportIdentity, Identity: exportIdentity,
};

/** The options of an activation, from its layer or its functional op. */
interface ActivationParams { negativeSlope?: number; alpha?: number; approximate?: 'none' | 'tanh'; dim?: number; }

/**
 * Adds the nodes of an activation (named by its layer type) on value `x` of rank `rank`; returns
 * the output value, or null for a softmax along the batch dimension (which ONNX could express,
 * but a batch-size-dependent model is not what an export means).
 */
function emitActivation(b: GraphBuilder, path: string, type: string, x: string, rank: number, p: ActivationParams): string | null {
  switch (type) {
    case 'ReLU': return b.node(path, 'Relu', [x]);
    case 'Sigmoid': return b.node(path, 'Sigmoid', [x]);
    case 'Tanh': return b.node(path, 'Tanh', [x]);
    case 'LeakyReLU': return b.node(path, 'LeakyRelu', [x], [float('alpha', p.negativeSlope ?? 0.01)]);
    case 'ELU': return b.node(path, 'Elu', [x], [float('alpha', p.alpha ?? 1)]);
    case 'ReLU6': return b.node(path, 'Clip', [x, b.scalar(`${path}.onnx_min`, 0), b.scalar(`${path}.onnx_max`, 6)]);
    case 'Hardswish': {
      if (b.opset >= 14) return b.node(path, 'HardSwish', [x]);
      // Before opset 14: x · HardSigmoid(x) with HardSwish's slope and offset.
      const h = b.node(path, 'HardSigmoid', [x], [float('alpha', 1 / 6), float('beta', 0.5)]);
      return b.node(path, 'Mul', [x, h]);
    }
    case 'SiLU': return b.node(path, 'Mul', [x, b.node(path, 'Sigmoid', [x])]);
    case 'GELU': {
      const half = b.node(path, 'Mul', [x, b.scalar(`${path}.onnx_half`, 0.5)]);
      let inner: string;
      if (p.approximate === 'tanh') {
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        const x3 = b.node(path, 'Mul', [b.node(path, 'Mul', [x, x]), x]);
        const sum = b.node(path, 'Add', [x, b.node(path, 'Mul', [x3, b.scalar(`${path}.onnx_coefficient`, 0.044715)])]);
        inner = b.node(path, 'Tanh', [b.node(path, 'Mul', [sum, b.scalar(`${path}.onnx_sqrt_2_over_pi`, Math.sqrt(2 / Math.PI))])]);
      } else {
        // 0.5·x·(1 + erf(x/√2))
        inner = b.node(path, 'Erf', [b.node(path, 'Div', [x, b.scalar(`${path}.onnx_sqrt_2`, Math.SQRT2)])]);
      }
      return b.node(path, 'Mul', [half, b.node(path, 'Add', [inner, b.scalar(`${path}.onnx_one`, 1)])]);
    }
    case 'Softmax':
    case 'LogSoftmax': {
      const dim = p.dim ?? 1;
      const axis = dim < 0 ? dim + rank : dim;
      if (axis === 0) return null;
      return b.node(path, type, [x], [int('axis', axis)]);
    }
    default:
      throw new Error(`toOnnx: ${path}: no ONNX form for the activation ${type}`);
  }
}
