// Functional ops with gradients, as torch's functions: usable in any module's forward (their
// buffers are that module's) or outside modules.
export { add, mul } from './arith.js';
export type { TensorLike } from './arith.js';
export { flatten, reshape, cat } from './shape.js';
export { mean, argmax } from './reduce.js';
export { relu, leakyRelu, sigmoid, tanh, relu6, hardswish, silu, gelu, elu, softmax, logSoftmax } from './activation.js';
export { MAX_LOOSE_OPS } from './site.js';
