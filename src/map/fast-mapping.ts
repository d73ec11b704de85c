/**
 * Runs a compiled mapping by the fastest evaluator that takes it: the mapping compiled to JavaScript
 * (jsonata-js.ts), else the synchronous evaluator (jsonata-sync.ts), else jsonata's own interpreter. A record
 * the compiled code leaves (Unsupported: a value outside its subset) goes to the next evaluator; a run that
 * fails otherwise is re-run by the interpreter, so mapping errors (and their codes and messages) are always
 * jsonata's; the fast paths only ever change speed.
 */
import type jsonata from 'jsonata';
import { compileJs } from './jsonata-js';
import { Unsupported } from './jsonata-runtime';
import { compileSync, type SyncEvaluate } from './jsonata-sync';

export type Evaluate = (input: unknown, bindings: Record<string, unknown>) => Promise<unknown>;

export interface FastMapping {
  evaluate: Evaluate;
}

export function fastMapping(expression: jsonata.Expression): FastMapping {
  let compiled: Promise<SyncEvaluate | undefined> | undefined;
  // Compiled only when first needed: most mappings never hand a record on, and compiling costs start-up time.
  let sync: Promise<SyncEvaluate | undefined> | undefined;
  return {
    async evaluate(input, bindings) {
      const run = await (compiled ??= compileJs(expression));
      if (run) {
        try {
          return run(input, bindings);
        } catch (err) {
          if (!(err instanceof Unsupported)) return expression.evaluate(input, bindings);
        }
      }
      const next = await (sync ??= compileSync(expression));
      if (next) {
        try {
          return next(input, bindings);
        } catch {
          // the interpreter, below
        }
      }
      return expression.evaluate(input, bindings);
    },
  };
}
