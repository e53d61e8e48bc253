// One training run: LeNet-5 with Adam (lr 1e-3), batches of 64, a tenth held out for validation,
// reporting every batch and every epoch so the page can draw progress as it happens.
import * as sn from '../dist/simdnet.browser.js';

export const BATCH_SIZE = 64;

/**
 * Trains a fresh LeNet-5 on `data` ({ x, labels }). `onModel(model)` gets it before the first
 * step (so the page can classify with it while it learns); `onBatch` gets { epoch, epochs, batch,
 * batches, loss, accuracy, imagesPerSecond, batchLosses }; `onEpoch` gets fit's history.
 */
export async function trainLenet(data, { epochs, seed, signal, onModel, onBatch, onEpoch }) {
  sn.manualSeed(seed); // the same weights for the same seed, so runs can be compared
  const model = sn.models.lenet5();
  onModel(model);
  let start = 0, seen = 0, correct = 0;
  const history = await model.fit(data.x, data.labels, {
    epochs, batchSize: BATCH_SIZE, seed, signal, verbose: 0, validationSplit: 0.1,
    optimizer: new sn.Adam(model.parameters(), { lr: 1e-3 }),
    callbacks: {
      onEpochBegin() { seen = correct = 0; start = performance.now(); },
      onBatchEnd(logs, ctx) {
        seen += logs.size;
        correct += logs.accuracy * logs.size;
        const seconds = (performance.now() - start) / 1000;
        onBatch({
          epoch: logs.epoch, epochs, batch: logs.batch + 1, batches: logs.batches, loss: logs.loss,
          accuracy: correct / seen, imagesPerSecond: seen / seconds, batchLosses: ctx.history.batchLoss,
        });
      },
      onEpochEnd(logs, ctx) { onEpoch(ctx.history); },
    },
  });
  return { model, history };
}
