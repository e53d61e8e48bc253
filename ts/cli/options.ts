// Command-line options shared by the simdnet commands.
import { parseArgs } from 'node:util';

export const OPTIONS = {
  data: { type: 'string' },
  model: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  output: { type: 'string', short: 'o' },
  plot: { type: 'string' },
  grid: { type: 'string' },
  index: { type: 'string' },
  limit: { type: 'string' },
  'validation-split': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type Parsed = ReturnType<typeof parse>;

export function parse(argv: string[]) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  return { command: positionals[0] ?? 'train', extra: positionals.slice(1), values };
}

/** A numeric option, checked; `fallback` when absent. */
export function num(values: Record<string, unknown>, name: string, fallback: number, check: (v: number) => boolean = Number.isFinite): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw === '' || !check(v)) throw new UsageError(`--${name}: invalid value '${String(raw)}'`);
  return v;
}

export const positiveInt = (v: number) => Number.isInteger(v) && v > 0;

/** An error in how the command was called: printed without a stack trace. */
export class UsageError extends Error {}

export const HELP = `simdnet — train and run CNNs on SIMD WebAssembly

Usage: simdnet <command> [options]

Commands:
  train      train a model (default: LeNet-5 on MNIST, Adam 1e-3 + cosine, batch 64, 10 epochs)
  eval       accuracy of a saved model on a labelled set
  predict    write a Kaggle submission CSV with a saved model's predictions
  summary    print a model's layers, output shapes and parameter counts
  features   draw the first conv layer's feature maps for one test image
  bench      LeNet-5 speed: per-layer times, img/s, GEMM GFLOP/s vs the wasm SIMD peak, next to
             TensorFlow.js and PyTorch (simdnet bench --help for its options)

Options:
  --data SPEC            mnist (default) | idx:DIR (MNIST-format IDX files) | csv:FILE (Kaggle digit CSV)
  --model M              lenet5 (default) | mlp | FILE.json (architecture) | FILE.safetensors (eval, predict, features)
  --epochs N             training epochs (10)
  --batch-size N         batch size (64)
  --optimizer NAME       adam (default) | adamw | sgd
  --lr X                 learning rate (1e-3; 0.01 for sgd)
  --seed N               seed for initialisation, shuffling and dropout (0)
  --validation-split X   fraction held out for validation (0.1)
  --limit N              use only the first N training and test images
  --output, -o FILE      where to write the model / submission / picture
  --plot FILE.svg        (train) loss and accuracy curves per epoch
  --grid FILE.svg        (predict) 25 test digits with predicted and true labels
  --index I              (features) which test image (0)
  --help, -h             this text
`;
