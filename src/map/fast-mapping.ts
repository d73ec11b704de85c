/**
 * Runs a compiled mapping: the synchronous evaluator when the mapping stays inside its subset
 * (jsonata-sync.ts), else jsonata's own interpreter. A run that throws is run again by the interpreter, so
 * mapping errors (and their codes and messages) are always jsonata's; the fast path only ever changes speed.
 */
import type jsonata from 'jsonata';
import { compileSync, type SyncEvaluate } from './jsonata-sync';

export type Evaluate = (input: unknown, bindings: Record<string, unknown>) => Promise<unknown>;

export interface FastMapping {
  evaluate: Evaluate;
}

export function fastMapping(expression: jsonata.Expression): FastMapping {
  let sync: Promise<SyncEvaluate | undefined> | undefined;
  const load = () => (sync ??= compileSync(expression));
  return {
    async evaluate(input, bindings) {
      const run = await load();
      if (!run) return expression.evaluate(input, bindings);
      try {
        return run(input, bindings);
      } catch {
        return expression.evaluate(input, bindings);
      }
    },
  };
}
