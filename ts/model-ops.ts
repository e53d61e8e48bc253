// The model-level methods every Module has (fit, evaluate, predict, profile, summary, files).
// module.ts imports neither training nor files (they import the modules, and files the layers),
// so index.ts binds these to Module once it has imported everything: the dependency runs one way.
import type { ModelMethods } from './module.js';
import { fit, evaluate, predict, predictClasses } from './train/fit.js';
import { profile } from './train/profile.js';
import { summary } from './train/summary.js';
import { loadSafetensorsInto, modelToSafetensors, sequentialFromSafetensors } from './io/model-file.js';
import { checkCanWrite, downloadModel, saveModel } from './io/model-file-node.js';
import { modelToOnnx } from './io/onnx/export.js';
import { saveOnnx } from './io/onnx/save.js';
import { checkFitOptionsObject } from './train/fit-options.js';

/** The implementations of the model methods, for provideModelMethods(). */
export const modelMethodImplementations: ModelMethods = {
  fit, evaluate, predict, predictClasses, profile, summary, checkFitOptionsObject,
  toSafetensors: modelToSafetensors, fromSafetensors: sequentialFromSafetensors, loadSafetensors: loadSafetensorsInto,
  toOnnx: modelToOnnx, saveOnnx,
  save: saveModel, download: downloadModel, checkCanWrite,
};
