// Constant subgraphs of an ONNX file evaluated at import: what torch.onnx.export writes to
// compute a shape (Shape → Gather → Unsqueeze → Concat → Reshape for x.view(x.size(0), -1)),
// Constant nodes, Cast, and the like. A shape read from an activation keeps its batch dimension
// symbolic ('N'): the imported model takes any batch size, as the file's dynamic axis meant.
import type { DecodedAttribute, DecodedNode, DecodedTensor } from './decode.js';

/** The symbolic batch size inside a constant integer tensor. */
export const BATCH = 'N';
/**
 * The most dimensions an activation or a parameter of an imported model may have (the batch
 * counted): a model keeps the shapes, and a file takes one byte a dimension at least, where an
 * array keeps eight.
 */
export const MAX_RANK = 8;
/** One value of a constant integer tensor: a number, or the batch size. */
export type Int = number | typeof BATCH;

/** A constant: floats or integers (integers may hold the symbolic batch), with its dims. */
export interface Const {
  dims: number[];
  floats: Float32Array | null;
  ints: Int[] | null;
  /** The initializer it is, when it is one unchanged (its name becomes a state-dict name). */
  origin?: string;
  /** For a Transpose of a 2-D initializer, not evaluated until needed: the initializer. */
  transposeOf?: Const;
}

/** A refusal of one node, turned into a message naming it by the caller. */
export class NodeError extends Error {}

/** The op types evaluated here when all their inputs are constants. */
export const FOLDABLE = new Set(['Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Slice',
  'Reshape', 'Transpose', 'Identity', 'Add', 'Sub', 'Mul', 'Div', 'Flatten']);

export const constOf = (t: DecodedTensor): Const => ({ dims: t.dims, floats: t.floats, ints: t.ints, origin: t.name });

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Looks up an attribute by name. */
export function attr(n: DecodedNode, name: string): DecodedAttribute | undefined {
  return n.attributes.find((a) => a.name === name);
}

/** The values of a constant as numbers (the batch refused: `what` names the use). */
export function numbers(c: Const, what: string): number[] {
  if (c.floats) return Array.from(c.floats);
  const v = c.ints ?? Array.from(materialize(c).floats!);
  if (v.some((x) => x === BATCH)) throw new NodeError(`${what} depends on the batch size, which the imported model leaves open`);
  return v as number[];
}

/** The values of a lazily transposed constant, computed. */
export function materialize(c: Const): Const {
  if (!c.transposeOf) return c;
  const src = c.transposeOf, [r, k] = src.dims;
  const out = new Float32Array(r * k);
  const f = src.floats!;
  for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) out[j * r + i] = f[i * k + j];
  return { dims: [k, r], floats: out, ints: null };
}

/**
 * Evaluates a foldable node on constant inputs (`shapeOf` gives an activation's shape, batch
 * symbolic, for Shape); `budget` counts the values made so far against the file's size, so that
 * a chain of Concats cannot make more values than the file has bytes.
 */
export function fold(n: DecodedNode, inputs: (Const | null)[], opset: number, budget: { left: number }): Const {
  const out = foldNode(n, inputs, opset);
  const made = out.floats ? out.floats.length : out.ints ? out.ints.length : 0;
  budget.left -= made;
  if (budget.left < 0) throw new NodeError('constant folding makes more values than the file has bytes');
  return out;
}

/** How many inputs each foldable op needs at least (by opset where inputs replaced attributes). */
function arity(op: string, opset: number): number {
  switch (op) {
    case 'Constant': return 0;
    case 'Gather': case 'Reshape': case 'Add': case 'Sub': case 'Mul': case 'Div': return 2;
    case 'Unsqueeze': return opset >= 13 ? 2 : 1;
    case 'Slice': return opset >= 10 ? 3 : 1;
    default: return 1;
  }
}

function foldNode(n: DecodedNode, xs: (Const | null)[], opset: number): Const {
  const need = arity(n.opType, opset);
  for (let i = 0; i < need; i++) if (!xs[i]) throw new NodeError(`${n.opType} needs ${need} input${need > 1 ? 's' : ''}, input ${i} is missing`);
  const x = xs[0];
  switch (n.opType) {
    case 'Constant': return constantNode(n);
    case 'Identity': return x!;
    case 'Shape': return { dims: [x!.dims.length], floats: null, ints: x!.dims.slice() };
    case 'Cast': return cast(x!, attr(n, 'to')?.i ?? 0);
    case 'Gather': return gather(x!, xs[1]!, attr(n, 'axis')?.i ?? 0);
    case 'Unsqueeze': return unsqueeze(x!, opset >= 13 ? intsInput(xs[1], 'axes') : attr(n, 'axes')?.ints ?? []);
    case 'Squeeze': return squeeze(x!, opset >= 13 ? (xs[1] ? intsInput(xs[1], 'axes') : null) : attr(n, 'axes')?.ints ?? null);
    case 'Concat': return concat(xs as Const[], attr(n, 'axis')?.i ?? 0);
    case 'Slice': return slice(n, xs, opset);
    case 'Reshape': return reshapeConst(x!, xs[1]!);
    case 'Flatten': { const a = axisOf(attr(n, 'axis')?.i ?? 1, x!.dims.length + 1); return { ...x!, origin: undefined, dims: [size(x!.dims.slice(0, a)), size(x!.dims.slice(a))] }; }
    case 'Transpose': return transpose(x!, attr(n, 'perm')?.ints);
    case 'Add': case 'Sub': case 'Mul': case 'Div': return arithmetic(n.opType, x!, xs[1]!);
    default: throw new NodeError(`${n.opType} is not evaluated on constants`);
  }
}

function constantNode(n: DecodedNode): Const {
  const a = n.attributes[0];
  if (n.attributes.length !== 1) throw new NodeError(`a Constant has one attribute, this one ${n.attributes.length}`);
  switch (a.name) {
    case 'value': if (!a.t) throw new NodeError('its value attribute holds no tensor'); return { dims: a.t.dims, floats: a.t.floats, ints: a.t.ints };
    case 'value_float': return { dims: [], floats: Float32Array.of(a.f), ints: null };
    case 'value_floats': return { dims: [a.floats.length], floats: Float32Array.from(a.floats), ints: null };
    case 'value_int': return { dims: [], floats: null, ints: [a.i] };
    case 'value_ints': return { dims: [a.ints.length], floats: null, ints: a.ints.slice() };
    default: throw new NodeError(`a Constant's ${JSON.stringify(a.name)} attribute is not supported`);
  }
}

function intsInput(c: Const | null, what: string): number[] {
  if (!c) throw new NodeError(`its ${what} input is missing`);
  return numbers(c, what);
}

function axisOf(a: number, rank: number): number {
  const v = a < 0 ? a + rank : a;
  if (!Number.isInteger(v) || v < 0 || v >= Math.max(rank, 1)) throw new NodeError(`axis ${a} is out of range for rank ${rank}`);
  return v;
}

function cast(x: Const, to: number): Const {
  const floatTypes = [1, 10, 11, 16];
  if (floatTypes.includes(to)) return { dims: x.dims, floats: x.floats ?? Float32Array.from(numbers(x, 'a Cast to float')), ints: null };
  if (x.ints) return { dims: x.dims, floats: null, ints: x.ints };
  return { dims: x.dims, floats: null, ints: Array.from(materialize(x).floats!, Math.trunc) };
}

/** Values of x along `axis` picked by integer indices (rank of the result: x's + indices' − 1). */
function gather(x: Const, idx: Const, axis: number): Const {
  const rank = x.dims.length;
  const a = axisOf(axis, rank);
  const indices = numbers(idx, 'Gather\'s indices');
  const d = x.dims[a], inner = size(x.dims.slice(a + 1)), outer = size(x.dims.slice(0, a));
  const src = x.ints ?? materialize(x).floats!;
  const vals: (Int | number)[] = [];
  for (let o = 0; o < outer; o++) {
    for (let k of indices) {
      if (k < 0) k += d;
      if (!(k >= 0 && k < d)) throw new NodeError(`index ${k} is out of range for a dimension of ${d}`);
      for (let i = 0; i < inner; i++) vals.push(src[(o * d + k) * inner + i]);
    }
  }
  const dims = [...x.dims.slice(0, a), ...idx.dims, ...x.dims.slice(a + 1)];
  return x.ints ? { dims, floats: null, ints: vals as Int[] } : { dims, floats: Float32Array.from(vals as number[]), ints: null };
}

function unsqueeze(x: Const, axes: number[]): Const {
  const rank = x.dims.length + axes.length;
  const at = axes.map((a) => axisOf(a, rank)).sort((p, q) => p - q);
  const dims = x.dims.slice();
  for (const a of at) dims.splice(a, 0, 1);
  return { ...x, origin: undefined, dims };
}

function squeeze(x: Const, axes: number[] | null): Const {
  const at = axes === null ? x.dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : axes.map((a) => axisOf(a, x.dims.length));
  for (const a of at) if (x.dims[a] !== 1) throw new NodeError(`axis ${a} has size ${x.dims[a]}, not 1`);
  return { ...x, origin: undefined, dims: x.dims.filter((_, i) => !at.includes(i)) };
}

function concat(xs: Const[], axis: number): Const {
  if (xs.length === 0) throw new NodeError('no inputs');
  const rank = xs[0].dims.length;
  const a = axisOf(axis, rank);
  for (const c of xs) {
    if (c.dims.length !== rank || c.dims.some((d, i) => i !== a && d !== xs[0].dims[i])) throw new NodeError('inputs of different shapes');
  }
  const outer = size(xs[0].dims.slice(0, a));
  const floats = xs.some((c) => c.floats || c.transposeOf);
  const vals: Int[] = [];
  for (let o = 0; o < outer; o++) {
    for (const c of xs) {
      const chunk = size(c.dims.slice(a));
      const src = floats ? (materialize(c).floats ?? Float32Array.from(numbers(c, 'Concat'))) : c.ints!;
      for (let i = 0; i < chunk; i++) vals.push(src[o * chunk + i]);
    }
  }
  const dims = xs[0].dims.slice();
  dims[a] = xs.reduce((s, c) => s + c.dims[a], 0);
  return floats ? { dims, floats: Float32Array.from(vals as number[]), ints: null } : { dims, floats: null, ints: vals };
}

function slice(n: DecodedNode, xs: (Const | null)[], opset: number): Const {
  const x = xs[0]!;
  if (x.dims.length !== 1) throw new NodeError('Slice is evaluated on 1-D constants only');
  const get = (i: number, name: string) => (opset >= 10 ? (xs[i] ? numbers(xs[i]!, name) : null) : attr(n, name)?.ints ?? null);
  const starts = get(1, 'starts'), ends = get(2, 'ends'), axes = get(3, 'axes'), steps = get(4, 'steps');
  if (!starts || !ends || starts.length !== 1 || ends.length !== 1) throw new NodeError('starts and ends must hold one value each');
  if (axes && (axes.length !== 1 || axisOf(axes[0], 1) !== 0)) throw new NodeError('axes must be [0]');
  const step = steps ? steps[0] : 1;
  if (step !== 1) throw new NodeError(`step ${step} is not supported (1 is)`);
  const d = x.dims[0];
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const s = clamp(starts[0]), e = Math.max(clamp(ends[0]), s);
  const src = x.ints ?? Array.from(materialize(x).floats!);
  const vals = src.slice(s, e);
  return x.ints ? { dims: [e - s], floats: null, ints: vals as Int[] } : { dims: [e - s], floats: Float32Array.from(vals as number[]), ints: null };
}

function reshapeConst(x: Const, shape: Const): Const {
  const target = numbers(shape, 'a constant Reshape\'s shape');
  const n = x.floats ? x.floats.length : x.ints ? x.ints.length : size(x.dims);
  const dims = target.map((d, i) => (d === 0 ? x.dims[i] ?? 0 : d));
  const known = dims.filter((d) => d !== -1);
  if (dims.filter((d) => d === -1).length > 1 || known.some((d) => !(d >= 0))) throw new NodeError(`the shape [${target.join(', ')}] is not a valid target`);
  const rest = size(known);
  if (dims.includes(-1)) dims[dims.indexOf(-1)] = rest > 0 ? n / rest : 0;
  if (size(dims) !== n || !dims.every(Number.isInteger)) throw new NodeError(`${n} values do not take the shape [${target.join(', ')}]`);
  const m = materialize(x);
  return { dims, floats: m.floats, ints: m.ints };
}

function transpose(x: Const, perm: number[] | undefined): Const {
  const rank = x.dims.length;
  const p = perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (rank <= 1) return x;
  if (rank !== 2 || p[0] !== 1 || p[1] !== 0 || !x.floats) throw new NodeError('Transpose is evaluated on 2-D float constants only');
  return { dims: [x.dims[1], x.dims[0]], floats: null, ints: null, transposeOf: x };
}

function arithmetic(op: string, a: Const, b: Const): Const {
  const floats = !!(a.floats || b.floats || a.transposeOf || b.transposeOf);
  const va = floats ? Array.from(materialize(a).floats ?? numbers(a, op)) : numbers(a, op);
  const vb = floats ? Array.from(materialize(b).floats ?? numbers(b, op)) : numbers(b, op);
  // Elementwise on equal shapes, or with a scalar on either side: what shape arithmetic needs.
  const scalarA = va.length === 1 && a.dims.length <= b.dims.length, scalarB = vb.length === 1;
  if (!scalarA && !scalarB && a.dims.join() !== b.dims.join()) throw new NodeError(`shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] are evaluated only when equal or one is a scalar`);
  const dims = scalarB ? a.dims : b.dims;
  const n = Math.max(va.length, vb.length);
  const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q,
    Div: (p: number, q: number) => (floats ? p / q : Math.trunc(p / q)) }[op]!;
  const vals = Array.from({ length: n }, (_, i) => f(va[va.length === 1 ? 0 : i], vb[vb.length === 1 ? 0 : i]));
  if (floats) return { dims, floats: Float32Array.from(vals), ints: null };
  if (!vals.every(Number.isSafeInteger)) throw new NodeError('integer arithmetic leaves the safe integers (a division by zero, or past 2^53)');
  return { dims, floats: null, ints: vals };
}
