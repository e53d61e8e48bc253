// File formats: safetensors for models (PyTorch and Hugging Face state dicts).
export { encodeSafetensors, decodeSafetensors, MAX_HEADER_BYTES } from './safetensors.js';
export type { Safetensors } from './safetensors.js';
