// Internals for tests and the benchmark harness: the raw kernels and wasm memory helpers.
// Not part of the stable API.
// Global type names (WebAssembly's) for projects without the DOM lib (declarations only).
export type {} from './global-types.js';
export { rt, Block, f32, i32, gemm, gemmScratch } from './runtime/index.js';
export { Heap } from './runtime/heap.js';
export { describe, closest } from './options.js';
export { KERNEL_EXPORTS, ready as loadRuntime } from './runtime/wasm.js';
export { decodeBase64 } from './runtime/base64.js';
export { Generator, randomBelow } from './random.js';
export { Augmenter } from './transforms/pipeline.js';
/** The shape rules and kernel calls of the functional ops (add, mul, cat, mean) over raw offsets. */
export * as functionalKernels from './functional/kernels.js';
/** The layer registry (model files name layer types through it). */
export { registerLayer, layerTypeNamed } from './registry.js';
export { looseSiteCount } from './functional/site.js';
/** ONNX messages to bytes and back (tests craft files with them). */
export { encodeModel } from './io/onnx/encode.js';
export { ProtoWriter } from './io/onnx/protobuf.js';
export { decodeModel } from './io/onnx/decode.js';
export { ONNX_FIXED_BYTES, ONNX_LAYER_BYTES, ONNX_TENSOR_BYTES, onnxBuildBudget, onnxBuildBytes } from './io/onnx/import.js';
/** Fusion of a BatchNorm with the ReLU/ReLU6 after it, on (the default) or off, for tests comparing the two. */
export { setFusion } from './layers/epilogue.js';
/** Receives layer calls' forward and backward times (a profile); tests check which calls fused into one row. */
export { setProfiler } from './autograd/state.js';
/** The output-channel ranges a convolution's weight gradient splits into over threads (tests check each range's bits), and how often it did. */
export { channelRanges, weightGradChannelRanges, inputChannelRanges, splitCounts } from './layers/conv-threads.js';
/** How a Winograd weight gradient splits over threads by rows or chunks of tiles (tests force one way), and ranges() of a count. */
export { winogradWeightGradPlan, weightGradSplit, weightGradTapRanges, tapSplit } from './layers/conv-threads.js';
export { ranges } from './runtime/threads.js';
/** How often BatchNorm's sweeps split over threads, and the size below which they do not (tests lower it). */
export { batchNormSplits, actGradFusions } from './layers/epilogue.js';
/** How often the pooling layers' kernels split over threads (by ranges of planes). */
export { poolSplits } from './layers/pooling.js';
export { splitLimits, unitSplit, unitRanges } from './runtime/split.js';
export { sweepSplits } from './runtime/split.js';
export { gemmRows, gemmSplits } from './layers/gemm-threads.js';
