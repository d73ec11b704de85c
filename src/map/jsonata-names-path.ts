/** A fast path of the synchronous JSONata evaluator (jsonata-sync.ts) for paths made only of names. */
import { lookup, type Node, type Run } from './jsonata-runtime';

/**
 * `data.a.b` or `$v.a.b` (names only: no predicates, stages or [] anywhere) as plain property reads, without
 * building a sequence per step. While no value on the way is an array the sequences would each hold one
 * item and the result would be unwrapped to it, so the value is the same; an array anywhere hands the
 * path to `general` (reads have no side effects, so starting again is safe).
 */
export function namesPath(expr: Node, first: Run, general: Run): Run | undefined {
  const steps = expr.steps!;
  const plain = (step: Node) => !step.predicate?.length && !step.stages?.length && step.keepArray !== true && step.consarray !== true;
  const simple =
    !expr.predicate?.length && expr.keepArray !== true && expr.keepSingletonArray !== true &&
    steps.every((step, i) => plain(step) && (step.type === 'name' || (i === 0 && step.type === 'variable')));
  if (!simple) return undefined;
  const fromVariable = steps[0].type === 'variable';
  const names = steps.slice(fromVariable ? 1 : 0).map((step) => step.value as string);
  return (input, env) => {
    if (!fromVariable && Array.isArray(input)) return general(input, env);
    let value = fromVariable ? first(input, env) : input;
    for (const name of names) {
      if (Array.isArray(value)) return general(input, env);
      value = lookup(value, name);
    }
    return Array.isArray(value) ? general(input, env) : value;
  };
}
