export { fit, evaluate, predict, predictClasses } from './fit.js';
export type { FitOptions, FitHistory, EvaluateOptions, PredictOptions } from './fit.js';
export { earlyStopping } from './callbacks.js';
export type { Callback, History, BatchLogs, EpochLogs, FitContext, EarlyStoppingOptions, Monitor } from './callbacks.js';
export { ProgressPrinter } from './progress.js';
export type { ProgressStream } from './progress.js';
export type { Target } from './targets.js';
export { profile, formatProfile } from './profile.js';
export type { Profile, ProfileOptions, LayerTime } from './profile.js';
