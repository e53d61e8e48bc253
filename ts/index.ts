// simdnet: CNNs for Node and the browser on SIMD WebAssembly kernels, with a PyTorch-shaped API.
// Global type names (WebAssembly's) for projects without the DOM lib (declarations only).
export type {} from './global-types.js';
// Every built-in layer registers itself for model files, whichever of them the app names: sn.load
// must rebuild any of them, also in a bundle that drops the exports nobody uses.
import './layers/builtin.js';
import { provideModelMethods } from './module.js';
import { modelMethodImplementations } from './model-ops.js';

// Binds fit, evaluate, profile, summary and the file methods to every Module (module.ts cannot
// import them: they import the modules).
provideModelMethods(modelMethodImplementations);

export { WasmMemoryError } from './runtime/heap.js';
export type { ReadyOptions, WasmBuilds, WasmSource } from './runtime/wasm.js';
export { ready, backendInfo, setNumThreads, getNumThreads, type BackendInfo } from './runtime/info.js';
export { Tensor, tensor } from './tensor.js';
export type { DType, TensorOptions } from './tensor.js';
export { manualSeed } from './random.js';
export { Module, Parameter } from './module.js';
export { Sequential } from './sequential.js';
export type { ModelFitOptions } from './module.js';
export { ModuleList } from './module-list.js';
export { noGrad } from './autograd/state.js';
export * from './functional/index.js';
export type { SequentialFitOptions } from './sequential.js';
export type { Size2 } from './layers/args.js';
export * as init from './init.js';

export * from './layers/linear.js';
export * from './layers/flatten.js';
export * from './layers/conv2d.js';
export * from './layers/maxpool2d.js';
export * from './layers/avgpool2d.js';
export * from './layers/adaptive-avgpool2d.js';
export * from './layers/relu.js';
export * from './layers/leaky-relu.js';
export * from './layers/sigmoid.js';
export * from './layers/tanh.js';
export * from './layers/relu6.js';
export * from './layers/hardswish.js';
export * from './layers/silu.js';
export * from './layers/gelu.js';
export * from './layers/elu.js';
export * from './layers/softmax.js';
export * from './layers/dropout.js';
export * from './layers/identity.js';
export * from './layers/batchnorm.js';

export { Loss, LossValue } from './losses/loss.js';
export type { Reduction } from './losses/loss.js';
export type { Labels } from './losses/labels.js';
export * from './losses/cross-entropy.js';
export * from './losses/mse.js';
export * from './losses/nll.js';
export * from './losses/bce-with-logits.js';

export { Optimizer } from './optim/optimizer.js';
export * from './optim/sgd.js';
export * from './optim/adam.js';
export * from './optim/lr-scheduler.js';
export * from './train/index.js';
export * as data from './data/index.js';
export * as transforms from './transforms/index.js';
export * as io from './io/index.js';
export { loadModel as load } from './io/model-file-node.js';
export type { ModelSource, LoadOptions } from './io/model-file-node.js';
export type { OnnxExportOptions } from './io/onnx/export.js';
export { fromOnnx } from './io/onnx/import.js';
// Types only: models are built by fromOnnx, and an exported Module class would be a layer type of model files.
export type { OnnxImportedModel, OnnxGraphModule, OnnxBlock } from './io/onnx/import.js';
export * as models from './models.js';
export * as plot from './plot/index.js';
export * as browser from './browser/index.js';
export * as worker from './worker/index.js';
