/**
 * JavaScript source for checks, compiled with `new Function` (as ajv does). A shared closure (one function
 * literal instantiated for every element) has one set of type feedback for all of them, so V8 sees its calls
 * and property reads as megamorphic and inlines nothing; a function generated for one element has its own,
 * with that element's property names written into the source. Values a check needs (regexes, other checks,
 * messages) are hoisted into constants passed in, never printed into the source.
 *
 * Generation is lazy: a check is generated on its first call (a validator holds ~17,000 checks, most of which
 * a deployment never meets; generating them all took ~1.3 s at load). Until then, and for callers that are
 * not generated, a check is a holder whose `fn` is replaced once by the generated function.
 */
import type { ValueCheck } from './context';

interface Holder {
  fn: ValueCheck;
}

const holders = new WeakMap<ValueCheck, Holder>();

/** A check whose function is made by `make()` on the first call. */
export function lazy(make: () => ValueCheck): ValueCheck {
  const holder: Holder = {
    fn: (value, path, ctx) => {
      holder.fn = make();
      holder.fn(value, path, ctx);
    },
  };
  return viaHolder(holder);
}

/** A check filled in later (a recursive definition): `set` gives it its function. */
export function later(): { check: ValueCheck; set: (fn: ValueCheck) => void } {
  const holder: Holder = { fn: () => undefined };
  const set = (fn: ValueCheck): void => {
    const inner = holders.get(fn);
    if (!inner) {
      holder.fn = fn;
      return;
    }
    // A lazy check: after its first call its function is final; from then on call that directly.
    holder.fn = (value, path, ctx) => {
      inner.fn(value, path, ctx);
      holder.fn = inner.fn;
    };
  };
  return { check: viaHolder(holder), set };
}

function viaHolder(holder: Holder): ValueCheck {
  const check: ValueCheck = (value, path, ctx) => holder.fn(value, path, ctx);
  holders.set(check, holder);
  return check;
}

/** Source under construction: `constant(value)` names a hoisted value for use in the code. */
export class Source {
  private readonly names: string[] = [];
  private readonly values: unknown[] = [];
  readonly lines: string[] = [];

  constant(value: unknown): string {
    const index = this.values.indexOf(value);
    if (index >= 0) return this.names[index];
    const name = `k${this.values.length}`;
    this.names.push(name);
    this.values.push(value);
    return name;
  }

  /** How generated code calls `check`: straight to its current function when it has a holder. */
  call(check: ValueCheck, args = 'value, path, ctx'): string {
    const holder = holders.get(check);
    return holder ? `${this.constant(holder)}.fn(${args});` : `${this.constant(check)}(${args});`;
  }

  line(code: string): void {
    this.lines.push(code);
  }

  /**
   * The function the lines make, with parameters `params`. `label` (an element id) goes into the source, so two
   * identical bodies are still two functions with their own type feedback (V8 caches compiled code by source).
   */
  build<F>(label: string, params: string): F {
    const body = `/* ${label.replace(/\*\//g, '* /')} #${++serial} */\nreturn function check(${params}) {\n${this.lines.join('\n')}\n};`;
    return new Function(...this.names, body)(...this.values) as F;
  }
}

let serial = 0;

/** A JavaScript string literal for text (property names and messages that come from definitions). */
export function literal(text: string): string {
  return JSON.stringify(text);
}
