#!/usr/bin/env node
// The simdnet command: `simdnet train|eval|predict|summary|features|bench`.
import { ready } from '../runtime/wasm.js';
import { HELP, UsageError, parse } from './options.js';
import { evaluateCommand, featuresCommand, predictCommand, summaryCommand, train } from './commands.js';

const COMMANDS: Record<string, (v: ReturnType<typeof parse>['values']) => Promise<void>> = {
  train, eval: evaluateCommand, predict: predictCommand, summary: summaryCommand, features: featuresCommand,
};

/**
 * `simdnet bench` runs the harness in bench/ (shipped beside dist/), which has options of its own
 * and must choose the wasm build before anything loads it, so it goes there before `ready()`.
 */
async function bench(argv: string[]): Promise<number> {
  const harness = new URL('../../bench/main.js', import.meta.url);
  let run: (argv: string[]) => Promise<number>;
  try {
    ({ main: run } = await import(harness.href) as { main: (argv: string[]) => Promise<number> });
  } catch (err) {
    process.stderr.write(`simdnet bench: cannot load the benchmark harness (${harness.pathname}): ${(err as Error).message}\n`);
    return 1;
  }
  try {
    return await run(argv);
  } catch (err) {
    process.stderr.write(`simdnet bench: ${(err as Error).message}\n`);
    return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'bench') return bench(argv.slice(1));
  let parsed;
  try { parsed = parse(argv); } catch (err) { process.stderr.write(`simdnet: ${(err as Error).message}\n\n${HELP}`); return 2; }
  if (parsed.values.help || parsed.command === 'help') { process.stdout.write(HELP); return 0; }
  // An own-property lookup: 'constructor' or 'toString' must be an unknown command, not Object's.
  const run = Object.hasOwn(COMMANDS, parsed.command) ? COMMANDS[parsed.command] : undefined;
  if (!run) { process.stderr.write(`simdnet: unknown command '${parsed.command}'\n\n${HELP}`); return 2; }
  if (parsed.extra.length) { process.stderr.write(`simdnet: unexpected argument '${parsed.extra[0]}'\n`); return 2; }
  try {
    await ready();
    await run(parsed.values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) { process.stderr.write(`simdnet: ${err.message}\n`); return 2; }
    process.stderr.write(`simdnet ${parsed.command}: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
