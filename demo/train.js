// One training run: LeNet-5 with Adam (lr 1e-3), batches of 64, a tenth held out for validation,
// reporting every batch and every epoch so the page can draw progress as it happens. It trains in
// a Web Worker (sn.worker.fit), so the page's main thread only draws, and the weights so far are
// synced into the page's model now and then for it to classify with; `inWorker: false` trains
// with sn.fit on the main thread instead, to the same weights (scripts/browser-tasks.js compares
// how long each blocks the page).
import * as sn from '../dist/simdnet.browser.js';

export const BATCH_SIZE = 64;
/**
 * The pause between one sync of the worker's weights and asking for the next: a drawn digit's
 * prediction follows the training a few times a second, which is as fast as one reads it. A sync
 * costs little either way (LeNet-5's file is 248,536 bytes; in Node writing it takes 0.2 ms, loading
 * it 0.25 ms and a one-image predict 0.2 ms, against about 5 ms for a training batch of 64), so the
 * pause is for the eye, not for the cost.
 */
export const SYNC_MS = 400;

/**
 * Trains a fresh LeNet-5 on `data` ({ x, labels }). `onModel(model)` gets it before the first
 * step (so the page can classify with it: trained on the main thread it learns as it goes; in a
 * worker, `onSync({ steps, epoch, batch })` is called each time the worker's weights so far were
 * loaded into it, after its first step and then every SYNC_MS); `onBatch` gets { epoch, epochs,
 * batch, batches, loss, accuracy, imagesPerSecond, batchLosses }; `onEpoch` gets the history so
 * far. Resolves to { model, history, threads } (threads: the worker's, or the page's).
 */
export async function trainLenet(data, { epochs, seed, signal, inWorker = true, onModel, onBatch, onEpoch, onSync = () => {} }) {
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
    const syncing = keepSynced(job, onSync);
    const done = await job.done;
    await syncing; // no sync lands after this returns
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

/**
 * Syncs the job's weights into its model until training ends, one sync at a time (a slow page
 * asks less often, never queues them): the first at once, answered after the worker's first
 * step, then SYNC_MS after each one has been handled.
 */
async function keepSynced(job, onSync) {
  let training = true;
  const ended = job.done.then(() => { training = false; }, () => { training = false; });
  while (training) {
    const at = await job.sync().catch(() => null); // refused once training has ended
    if (at && training) onSync(at);
    await Promise.race([new Promise((ok) => setTimeout(ok, SYNC_MS)), ended]);
  }
}
