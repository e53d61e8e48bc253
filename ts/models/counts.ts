// How many state-dict values (parameters and buffers, every element counted) the zoo's layers
// hold, worked out from their sizes without building anything: a model file naming a zoo model
// is checked against them before a single weight is allocated.

/** A Conv2d's: weight [out, in / groups, k, k], and bias [out] when it has one. */
export function convValues(inChannels: number, outChannels: number, kernel: number, groups = 1, bias = false): number {
  return outChannels * (inChannels / groups) * kernel * kernel + (bias ? outChannels : 0);
}

/** A BatchNorm2d's: weight, bias, running_mean, running_var [c] and num_batches_tracked (one value). */
export function batchNormValues(channels: number): number {
  return 4 * channels + 1;
}

/** A Linear's: weight [out, in] and bias [out]. */
export function linearValues(inFeatures: number, outFeatures: number): number {
  return outFeatures * inFeatures + outFeatures;
}
