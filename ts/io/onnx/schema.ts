// The parts of ONNX's onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) that
// simdnet writes and reads: field numbers, enum values, and the plain objects that stand for
// the messages. The writer (encode.ts) turns these objects into bytes; a reader gives them back.

/** ModelProto's fields. */
export const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, domain: 4, modelVersion: 5, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
/** OperatorSetIdProto's fields. */
export const OPSET_ID = { domain: 1, version: 2 } as const;
/** GraphProto's fields. */
export const GRAPH = { node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12, valueInfo: 13 } as const;
/** NodeProto's fields. */
export const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, docString: 6, domain: 7 } as const;
/** AttributeProto's fields. */
export const ATTRIBUTE = { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, strings: 9, docString: 13, type: 20 } as const;
/** AttributeProto.AttributeType's values. */
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
/** TensorProto's fields. */
export const TENSOR = { dims: 1, dataType: 2, floatData: 4, int32Data: 5, int64Data: 7, name: 8, rawData: 9, docString: 12, externalData: 13, dataLocation: 14 } as const;
/** TensorProto.DataType's values used here. */
export const DATA_TYPE = { FLOAT: 1, INT64: 7 } as const;
/** ValueInfoProto's fields. */
export const VALUE_INFO = { name: 1, type: 2, docString: 3 } as const;
/** TypeProto's fields (tensor_type only: the other kinds do not occur in a CNN). */
export const TYPE = { tensorType: 1 } as const;
/** TypeProto.Tensor's fields. */
export const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
/** TensorShapeProto's fields. */
export const SHAPE = { dim: 1 } as const;
/** TensorShapeProto.Dimension's fields. */
export const DIMENSION = { dimValue: 1, dimParam: 2 } as const;
/** StringStringEntryProto's fields. */
export const STRING_ENTRY = { key: 1, value: 2 } as const;

/** A tensor with its values (an initializer, or a constant attribute). */
export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: 'float32' | 'int64';
  /** The values; int64 as numbers (safe integers: shapes and axes). */
  data: Float32Array | number[];
}

/** An attribute of a node, by type. */
export type OnnxAttribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'floats'; value: number[] };

/** A node: an operator applied to named values. */
export interface OnnxNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

/** A graph input or output: its name, element type and shape (a string is a symbolic dimension). */
export interface OnnxValueInfo {
  name: string;
  dataType: 'float32' | 'int64';
  shape: (number | string)[];
}

/** A graph: nodes in a topological order, their weights, inputs and outputs. */
export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** A model: the graph and the operator set it is written against (the default domain, ai.onnx). */
export interface OnnxModel {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
  docString?: string;
}
