// Bytes to ONNX messages: ModelProto and what it holds (GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto), as far as the importer needs them, from an untrusted file.
// Fields this reader does not use are skipped by their length. A tensor's values are checked
// against its dims (the product bounded, raw_data's length equal to it) before they are copied,
// so no tensor holds more values than the file has bytes; a tensor stored outside the file
// (external data) is refused by name: fromOnnx reads one file and never opens another.
import { ProtoReader } from './protobuf-reader.js';
import { shapeBytes } from '../untrusted.js';

/** TensorProto.DataType values and their names, for messages. */
export const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
};

/** A tensor's values: floats (float32; float16 and float64 converted to float32) or integers (exact, within ±2^53). */
export interface DecodedTensor {
  name: string;
  dims: number[];
  dataType: number;
  floats: Float32Array | null;
  ints: number[] | null;
}

/** An attribute: the fields its type uses. */
export interface DecodedAttribute {
  name: string;
  type: number;
  f: number;
  i: number;
  s: string;
  t: DecodedTensor | null;
  floats: number[];
  ints: number[];
  /** Whether it holds a graph (a subgraph of If, Loop, Scan): such nodes are not imported. */
  hasGraph: boolean;
}

/** A node: its operator, named inputs and outputs, attributes; `index` is its place in the graph. */
export interface DecodedNode {
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: DecodedAttribute[];
}

/** A graph input or output: its element type (0 when not a tensor) and shape (null when unknown; a string for a symbolic dimension). */
export interface DecodedValueInfo {
  name: string;
  elemType: number;
  shape: (number | string | null)[] | null;
}

/** A graph. */
export interface DecodedGraph {
  name: string;
  nodes: DecodedNode[];
  initializers: DecodedTensor[];
  inputs: DecodedValueInfo[];
  outputs: DecodedValueInfo[];
}

/** A model: the graph and the operator sets it imports, by domain ('' is ai.onnx). */
export interface DecodedModel {
  irVersion: number;
  opsets: Map<string, number>;
  producerName: string;
  producerVersion: string;
  graph: DecodedGraph;
}

/** Decodes a ModelProto; throws a ProtoError naming the place of the first problem. */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  const r = new ProtoReader(bytes, 0, bytes.length, 'model');
  const model: DecodedModel = { irVersion: 0, opsets: new Map(), producerName: '', producerVersion: '', graph: null as unknown as DecodedGraph };
  let graphs = 0;
  while (r.next()) {
    switch (r.field) {
      case 1: model.irVersion = r.int('ir_version'); break;
      case 2: model.producerName = r.string('producer_name'); break;
      case 3: model.producerVersion = r.string('producer_version'); break;
      case 7: model.graph = decodeGraph(r.message('model.graph')); graphs++; break;
      case 8: {
        const m = r.message(`model.opset_import[${model.opsets.size}]`);
        let domain = '', version = 0;
        while (m.next()) {
          if (m.field === 1) domain = m.string('domain');
          else if (m.field === 2) version = m.int('version');
          else m.skip();
        }
        // ai.onnx is written '' or 'ai.onnx'.
        model.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
        break;
      }
      default: r.skip();
    }
  }
  if (graphs !== 1) r.fail(graphs === 0 ? 'there is no graph (not an ONNX model?)' : `${graphs} graphs, where a model has one`);
  return model;
}

/**
 * The most nodes, and the most initializers, a graph may have. Each costs a few bytes of file and a
 * few hundred of JS heap once decoded (a layer built from a node, about 1.2 KB more), so without a
 * cap a file of empty nodes would make objects a hundred times its size. CNNs have hundreds to a
 * few thousand of each.
 */
export const MAX_GRAPH_ENTRIES = 20_000;

function decodeGraph(r: ProtoReader): DecodedGraph {
  const g: DecodedGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
  const room = (what: string, list: unknown[]) => {
    if (list.length >= MAX_GRAPH_ENTRIES) r.fail(`more than ${MAX_GRAPH_ENTRIES.toLocaleString('en-US')} ${what}s, the most fromOnnx reads`);
  };
  while (r.next()) {
    switch (r.field) {
      case 1: room('node', g.nodes); g.nodes.push(decodeNode(r.message(`graph.node[${g.nodes.length}]`), g.nodes.length)); break;
      case 2: g.name = r.string('name'); break;
      case 5: room('initializer', g.initializers); g.initializers.push(decodeTensor(r.message(`graph.initializer[${g.initializers.length}]`))); break;
      case 11: g.inputs.push(decodeValueInfo(r.message(`graph.input[${g.inputs.length}]`))); break;
      case 12: g.outputs.push(decodeValueInfo(r.message(`graph.output[${g.outputs.length}]`))); break;
      case 15: r.fail('the graph has sparse initializers, which are not supported (store them dense)');
      // falls through: fail never returns
      default: r.skip();
    }
  }
  return g;
}

function decodeNode(r: ProtoReader, index: number): DecodedNode {
  const n: DecodedNode = { index, name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  while (r.next()) {
    switch (r.field) {
      case 1: n.inputs.push(r.string('input')); break;
      case 2: n.outputs.push(r.string('output')); break;
      case 3: n.name = r.string('name'); break;
      case 4: n.opType = r.string('op_type'); break;
      case 5: n.attributes.push(decodeAttribute(r.message(`${r.path}.attribute[${n.attributes.length}]`))); break;
      case 7: n.domain = r.string('domain'); break;
      default: r.skip();
    }
  }
  if (n.domain === 'ai.onnx') n.domain = '';
  return n;
}

function decodeAttribute(r: ProtoReader): DecodedAttribute {
  const a: DecodedAttribute = { name: '', type: 0, f: 0, i: 0, s: '', t: null, floats: [], ints: [], hasGraph: false };
  while (r.next()) {
    switch (r.field) {
      case 1: a.name = r.string('name'); break;
      case 2: a.f = r.float('f'); break;
      case 3: a.i = r.int('i'); break;
      case 4: a.s = r.string('s'); break;
      case 5: a.t = decodeTensor(r.message(`${r.path}.t`)); break;
      case 6: case 11: a.hasGraph = true; r.skip(); break;
      case 7: r.floats('floats', a.floats); break;
      case 8: r.ints('ints', a.ints); break;
      case 20: a.type = r.int('type'); break;
      default: r.skip();
    }
  }
  return a;
}

function decodeValueInfo(r: ProtoReader): DecodedValueInfo {
  const v: DecodedValueInfo = { name: '', elemType: 0, shape: null };
  while (r.next()) {
    if (r.field === 1) v.name = r.string('name');
    else if (r.field === 2) {
      const type = r.message(`${r.path}.type`);
      while (type.next()) {
        if (type.field !== 1) { type.skip(); continue; }
        const tt = type.message(`${r.path}.type.tensor_type`);
        while (tt.next()) {
          if (tt.field === 1) v.elemType = tt.int('elem_type');
          else if (tt.field === 2) v.shape = decodeShape(tt.message(`${r.path}.type.tensor_type.shape`));
          else tt.skip();
        }
      }
    } else r.skip();
  }
  return v;
}

function decodeShape(r: ProtoReader): (number | string | null)[] {
  const dims: (number | string | null)[] = [];
  while (r.next()) {
    if (r.field !== 1) { r.skip(); continue; }
    const d = r.message(`${r.path}.dim[${dims.length}]`);
    let value: number | string | null = null;
    while (d.next()) {
      if (d.field === 1) value = d.int('dim_value');
      else if (d.field === 2) value = d.string('dim_param');
      else d.skip();
    }
    dims.push(value);
  }
  return dims;
}

/** The typed fields of a TensorProto as read, before they are checked against dims. */
interface TensorFields {
  raw: Uint8Array | null;
  floatData: number[];
  int32Data: number[];
  int64Data: number[];
  doubleData: number[];
  external: boolean;
}

function decodeTensor(r: ProtoReader): DecodedTensor {
  const t: DecodedTensor = { name: '', dims: [], dataType: 0, floats: null, ints: null };
  const f: TensorFields = { raw: null, floatData: [], int32Data: [], int64Data: [], doubleData: [], external: false };
  while (r.next()) {
    switch (r.field) {
      case 1: r.ints('dims', t.dims); break;
      case 2: t.dataType = r.int('data_type'); break;
      case 3: r.fail('a segmented tensor (segment), which is not supported');
      // falls through: fail never returns
      case 4: r.floats('float_data', f.floatData); break;
      case 5: r.ints('int32_data', f.int32Data); break;
      case 7: r.ints('int64_data', f.int64Data); break;
      case 8: t.name = r.string('name'); break;
      case 9: f.raw = r.bytesField('raw_data'); break;
      case 10: r.doubles('double_data', f.doubleData); break;
      case 13: f.external = true; r.skip(); break;
      case 14: if (r.int('data_location') === 1) f.external = true; break;
      default: r.skip();
    }
  }
  const what = t.name ? `the tensor ${JSON.stringify(t.name.slice(0, 80))}` : 'the tensor';
  if (f.external) r.fail(`the tensor ${JSON.stringify(t.name.slice(0, 80))} refers to external data (a file beside the model), which fromOnnx does not read: save the model with its weights inside (onnx.save_model(m, path, save_as_external_data=False))`);
  for (const d of t.dims) if (d < 0) r.fail(`${what}: a negative dimension ${d} in dims [${t.dims.slice(0, 8).join(', ')}]`);
  const count = shapeBytes(t.dims, 1);
  if (!Number.isSafeInteger(count) || count > 2 ** 31) r.fail(`${what}: dims [${t.dims.slice(0, 8).join(', ')}] hold more than 2^31 values`);
  fillValues(r, what, t, f, count);
  return t;
}

/** Sets t.floats or t.ints from the one field that holds `count` values; refuses any other count. */
function fillValues(r: ProtoReader, what: string, t: DecodedTensor, f: TensorFields, count: number): void {
  const type = DATA_TYPE_NAMES[t.dataType] ?? `data type ${t.dataType}`;
  const typed = [f.floatData, f.int32Data, f.int64Data, f.doubleData].filter((a) => a.length > 0);
  if (typed.length > 1 || (typed.length === 1 && f.raw)) r.fail(`${what}: values in two fields at once`);
  const given = f.raw ? null : typed[0] ?? [];
  const check = (n: number, field: string) => {
    if (n !== count) r.fail(`${what}: ${field} holds ${n} ${type} values, dims [${t.dims.slice(0, 8).join(', ')}] need ${count}`);
  };
  const view = f.raw ? new DataView(f.raw.buffer, f.raw.byteOffset, f.raw.length) : null;
  const item = ({ 1: 4, 11: 8, 10: 2, 7: 8, 6: 4, 9: 1, 2: 1, 3: 1 } as Record<number, number>)[t.dataType];
  if (item === undefined) r.fail(`${what}: the data type ${type} is not supported (float32, float16, float64, int64, int32, int8, uint8 and bool are)`);
  if (f.raw) check(f.raw.length / item, `raw_data (${f.raw.length} bytes)`);
  else check(given!.length, 'its typed field');
  switch (t.dataType) {
    case 1: t.floats = view ? floatsOf(count, (i) => view.getFloat32(4 * i, true)) : Float32Array.from(given!); return;
    case 11: t.floats = view ? floatsOf(count, (i) => view.getFloat64(8 * i, true)) : Float32Array.from(given!); return;
    case 10: t.floats = floatsOf(count, (i) => halfToFloat(view ? view.getUint16(2 * i, true) : given![i] & 0xffff)); return;
    case 7: t.ints = view ? intsOf(r, what, count, (i) => view.getBigInt64(8 * i, true)) : given!; return;
    case 6: t.ints = view ? Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true)) : given!; return;
    case 3: t.ints = view ? Array.from({ length: count }, (_, i) => view.getInt8(i)) : given!; return;
    default: t.ints = view ? Array.from(f.raw!) : given!;
  }
}

function floatsOf(n: number, at: (i: number) => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = at(i);
  return out;
}

function intsOf(r: ProtoReader, what: string, n: number, at: (i: number) => bigint): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = at(i);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) r.fail(`${what}: the int64 value ${v} lies beyond ±2^53`);
    out[i] = Number(v);
  }
  return out;
}

/** An IEEE 754 half-precision value from its 16 bits. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
