#!/usr/bin/env node
// The simdnet command: `simdnet train|eval|predict|summary|features`.
import { ready } from '../runtime/wasm.js';
import { HELP, UsageError, parse } from './options.js';
import { evaluateCommand, featuresCommand, predictCommand, summaryCommand, train } from './commands.js';

const COMMANDS: Record<string, (v: ReturnType<typeof parse>['values']) => Promise<void>> = {
  train, eval: evaluateCommand, predict: predictCommand, summary: summaryCommand, features: featuresCommand,
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try { parsed = parse(argv); } catch (err) { process.stderr.write(`simdnet: ${(err as Error).message}\n\n${HELP}`); return 2; }
  if (parsed.values.help || parsed.command === 'help') { process.stdout.write(HELP); return 0; }
  const run = COMMANDS[parsed.command];
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
