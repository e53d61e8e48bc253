// File formats: safetensors for models (PyTorch and Hugging Face state dicts).
export { encodeSafetensors, decodeSafetensors, MAX_HEADER_BYTES } from './safetensors.js';
export type { Safetensors } from './safetensors.js';
export { architectureOf, buildFromArchitecture, validateArchitecture, layerTypeOf, LAYER_TYPES, ARCHITECTURE_FORMAT, ARCHITECTURE_VERSION } from './architecture.js';
export type { ArchitectureSpec, LayerSpec } from './architecture.js';
export { modelToSafetensors, modelFromSafetensors, loadSafetensorsInto, ARCHITECTURE_METADATA_KEY, MODULE_METADATA_KEY } from './model-file.js';
export { saveModel, loadModel, loadModelInto } from './model-file-node.js';
export type { ModelSource, LoadOptions } from './model-file-node.js';
