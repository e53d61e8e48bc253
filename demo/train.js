// One training run: LeNet-5 with Adam (lr 1e-3), batches of 64, a tenth held out for validation,
// reporting every batch and every epoch so the page can draw progress as it happens. It trains in
// a Web Worker (sn.worker.fit), so the page's main thread only draws; `inWorker: false` trains
// with sn.fit on the main thread instead, to the same weights (scripts/browser-tasks.js compares
// how long each blocks the page).
import * as sn from '../dist/simdnet.browser.js';

export const BATCH_SIZE = 64;

/**
 * Trains a fresh LeNet-5 on `data` ({ x, labels }). `onModel(model)` gets it before the first
 * step (so the page can classify with it: trained on the main thread it learns as it goes; in a
 * worker its weights arrive at the end); `onBatch` gets { epoch, epochs, batch, batches, loss,
 * accuracy, imagesPerSecond, batchLosses }; `onEpoch` gets the history so far. Resolves to
 * { model, history, threads } (threads: the worker's, or the page's).
 */
export async function trainLenet(data, { epochs, seed, signal, inWorker = true, onModel, onBatch, onEpoch }) {
  sn.manualSeed(seed); // the same weights for the same seed, so runs can be compared
  const model = sn.models.lenet5();
  onModel(model);
  const options = { epochs, batchSize: BATCH_SIZE, seed, signal, validationSplit: 0.1 };
  const history = { epoch: [], loss: [], accuracy: [], valLoss: [], valAccuracy: [], lr: [], batchLoss: [] };
  let seen = 0, correct = 0, start = 0;
  // The worker's logs carry the epoch's images per second; on the main thread it is counted here.
  const batchEnd = (logs) => {
    if (logs.batch === 0) seen = correct = 0;
    seen += logs.size;
    correct += logs.accuracy * logs.size;
    history.batchLoss.push(logs.loss);
    onBatch({
      epoch: logs.epoch, epochs, batch: logs.batch + 1, batches: logs.batches, loss: logs.loss,
      accuracy: correct / seen, imagesPerSecond: logs.imagesPerSecond ?? seen / ((performance.now() - start) / 1000),
      batchLosses: history.batchLoss,
    });
  };
  const epochEnd = (logs) => {
    for (const key of ['epoch', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'lr']) history[key].push(logs[key]);
    onEpoch(history);
  };
  if (inWorker) {
    const job = sn.worker.fit(model, data.x, data.labels, { ...options, optimizer: { type: 'Adam', lr: 1e-3 } });
    job.on('batch', batchEnd).on('epoch', epochEnd);
    const done = await job.done;
    return { model, history: done, threads: job.workerInfo.threads };
  }
  const done = await model.fit(data.x, data.labels, {
    ...options, verbose: 0,
    optimizer: new sn.Adam(model.parameters(), { lr: 1e-3 }),
    callbacks: {
      onEpochBegin() { start = performance.now(); },
      onBatchEnd: batchEnd,
      onEpochEnd: epochEnd,
    },
  });
  return { model, history: done, threads: sn.getNumThreads() };
}
