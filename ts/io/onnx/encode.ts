// ONNX messages to bytes: OnnxModel (schema.ts) → ModelProto in protobuf's wire format.
import { ProtoWriter } from './protobuf.js';
import {
  ATTRIBUTE, ATTRIBUTE_TYPE, DATA_TYPE, DIMENSION, GRAPH, MODEL, NODE, OPSET_ID, SHAPE, TENSOR, TENSOR_TYPE, TYPE, VALUE_INFO,
  type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo,
} from './schema.js';

/** The ModelProto bytes of `model`. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter()
    .int(MODEL.irVersion, model.irVersion)
    .message(MODEL.opsetImport, new ProtoWriter().string(OPSET_ID.domain, '').int(OPSET_ID.version, model.opset))
    .string(MODEL.producerName, model.producerName)
    .string(MODEL.producerVersion, model.producerVersion);
  if (model.docString) w.string(MODEL.docString, model.docString);
  w.message(MODEL.graph, encodeGraph(model.graph));
  return w.finish();
}

function encodeGraph(g: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(GRAPH.node, encodeNode(n));
  w.string(GRAPH.name, g.name);
  for (const t of g.initializers) w.message(GRAPH.initializer, encodeTensor(t));
  for (const v of g.inputs) w.message(GRAPH.input, encodeValueInfo(v));
  for (const v of g.outputs) w.message(GRAPH.output, encodeValueInfo(v));
  return w;
}

function encodeNode(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(NODE.input, i);
  for (const o of n.outputs) w.string(NODE.output, o);
  w.string(NODE.name, n.name).string(NODE.opType, n.opType);
  for (const a of n.attributes) w.message(NODE.attribute, encodeAttribute(a));
  return w;
}

function encodeAttribute(a: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(ATTRIBUTE.name, a.name);
  switch (a.type) {
    case 'int': return w.int(ATTRIBUTE.i, a.value).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.INT);
    case 'float': return w.float(ATTRIBUTE.f, a.value).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.FLOAT);
    case 'string': return w.string(ATTRIBUTE.s, a.value).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.STRING);
    case 'ints': return w.packedInts(ATTRIBUTE.ints, a.value).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.INTS);
    case 'floats': return w.packedFloats(ATTRIBUTE.floats, a.value).int(ATTRIBUTE.type, ATTRIBUTE_TYPE.FLOATS);
  }
}

/** A TensorProto with its values as raw_data (little-endian, as ONNX specifies). */
function encodeTensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter().packedInts(TENSOR.dims, t.dims);
  w.int(TENSOR.dataType, t.dataType === 'float32' ? DATA_TYPE.FLOAT : DATA_TYPE.INT64);
  w.string(TENSOR.name, t.name);
  let raw: Uint8Array;
  if (t.dataType === 'float32') {
    const data = t.data as Float32Array;
    raw = new Uint8Array(4 * data.length);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  } else {
    const data = t.data as number[];
    raw = new Uint8Array(8 * data.length);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) view.setBigInt64(8 * i, BigInt(data[i]), true);
  }
  return w.bytes(TENSOR.rawData, raw);
}

function encodeValueInfo(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    shape.message(SHAPE.dim, typeof d === 'string' ? new ProtoWriter().string(DIMENSION.dimParam, d) : new ProtoWriter().int(DIMENSION.dimValue, d));
  }
  const tensorType = new ProtoWriter()
    .int(TENSOR_TYPE.elemType, v.dataType === 'float32' ? DATA_TYPE.FLOAT : DATA_TYPE.INT64)
    .message(TENSOR_TYPE.shape, shape);
  return new ProtoWriter().string(VALUE_INFO.name, v.name).message(VALUE_INFO.type, new ProtoWriter().message(TYPE.tensorType, tensorType));
}
