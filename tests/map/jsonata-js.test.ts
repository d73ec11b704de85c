import jsonata from 'jsonata';
import { compileJs } from '../../src/map/jsonata-js';
import { Unsupported } from '../../src/map/jsonata-runtime';
import { plainJson } from '../../src/map/map-record';

/** The compiled expression and the interpreter on one input: same JSON out, or the compiled one hands on. */
async function both(source: string, input: unknown, bindings: Record<string, unknown> = {}) {
  const expression = jsonata(source);
  const run = await compileJs(expression);
  if (!run) throw new Error(`expected ${source} to compile`);
  const reference = JSON.stringify(plainJson(await expression.evaluate(input, bindings)));
  return { fast: JSON.stringify(plainJson(run(input, bindings))), reference };
}

describe('a JSONata expression compiled to JavaScript', () => {
  it.each([
    ['a path over an array flattens and unwraps a singleton', 'items.name', { items: [{ name: 'a' }, { name: ['b', 'c'] }, {}] }],
    ['a singleton path result stays a value', 'items.name', { items: [{ name: 'a' }] }],
    ['[] after a step keeps a singleton array', '{ "n": items.{ "v": name }[] }', { items: [{ name: 'a' }] }],
    ['a numeric predicate picks by index', '($x := ["p", "q"]; [items[0].name, $x[1], $x[5]])', { items: [{ name: 'a' }, { name: 'b' }] }],
    ['a boolean predicate filters', 'items[flag].name', { items: [{ name: 'a', flag: true }, { name: 'b', flag: false }, { name: 'c' }] }],
    ['an array constructor drops undefined and flattens arrays not written with [...]', '[missing, list, [list], "x"]', { list: [1, 2] }],
    ['an object constructor drops undefined values', '{ "a": missing, "b": 1, "c": null, "d": {} }', {}],
    ['an object constructor per item of a path', 'items.{ "n": name, "one": 1 }', { items: [{ name: 'k' }, { name: ['j', 'i'] }] }],
    ['a condition without else gives nothing', '{ "x": flag ? "yes", "y": $count(list) > 0 ? list }', { flag: false, list: [] }],
    ['& writes numbers as $string does', '"n=" & a & "," & b & "," & c & "," & d & "," & e & "," & $string(f) & "," & $string(o)', { a: 1e21, b: 0.30000000000000004, c: -0, d: 1.5e-7, e: 123456789.12345679, f: 2, o: { x: [1, 0.1] } }],
    ['equality and comparison', '[n > 1, n = 2, s = "x", s != "y", missing = 1, missing != 1, o = { "a": 1 }, (n > 5 or s = "x"), (n > 1 and missing)]', { n: 2, s: 'x', o: { a: 1 } }],
    ['the truth of objects, arrays and strings', '[{} ? 1 : 0, o ? 1 : 0, e ? 1 : 0, "" ? 1 : 0, z ? 1 : 0, a ? 1 : 0]', { o: { a: 1 }, e: [], z: 0, a: [0, 0, 1] }],
    ['blocks bind variables; closures see them', '($k := 10; $f := function($v) { { "v": $v, "k": $k } }; $map(list, function($v, $i) { [$f($v), $i] }))', { list: [1, 2] }],
    ['$each passes value and key', '$each(o, function($v, $k) { $k & "=" & $v })', { o: { a: 1, b: 'two' } }],
    ['$map of nothing is nothing, of one value a one-item result', '[$map(missing, function($v) { $v }), $map(one, function($v) { $v & "!" })]', { one: 'x' }],
    ['$merge, $exists, $count, $uppercase', '[$merge([{ "a": 1, "b": 2 }, { "a": 3 }]), $merge(missing), $exists(missing), $exists(null), $count(list), $count("s"), $uppercase(s)]', { list: [1, 2], s: 'abc' }],
    ['$ is the context and $$ the root', 'items.{ "n": $.name, "top": $$.top }', { top: 'T', items: [{ name: 'a' }, { name: 'b' }] }],
    ['a path of names through null, a string or a missing field gives nothing', '[data.a.b, data.n.b, data.s.b, data.missing.b]', { data: { a: { b: 1 }, n: null, s: 'x' } }],
    ['a path of names ending at an array, of one item or none', '[data.one, data.none, data.two]', { data: { one: [1], none: [], two: [1, 2] } }],
    ['a path of names from a variable through an array', '($v := data; $v.list.name)', { data: { list: [{ name: 'a' }, { name: 'b' }] } }],
    ['a function whose last call is a tail call', '($g := function($x) { $x }; $f := function($x) { $g($x) }; [$f(list), $f("a")])', { list: [1, 2] }],
    ['other built-ins through their signature', '[$distinct(list), $substring("abcdef", 1, 3), $join(["a", "b"], "-")]', { list: [1, 1, 2] }],
    ['string built-ins of one argument', '[$lowercase(s), $trim("  a  b "), $base64encode(s), $encodeUrlComponent("a b/é"), $decodeUrlComponent("%C3%A9"), $lowercase(missing)]', { s: 'AbC' }],
    ['$replace with a regex and a function, as care-note encodes UTF-8', '$replace(s, /([a-c])(x)?/, function($m) { $m.match & "(" & $m.start & "," & $m.end & "," & $count($m.groups) & ")" })', { s: 'zaxbyc' }],
    ['$replace of nothing, and with no match', '[$replace(missing, /a/, function($m) { "b" }), $replace("zzz", /a/, function($m) { "b" })]', {}],
  ])('%s, as the interpreter does', async (_name, source, input) => {
    const { fast, reference } = await both(source, input);
    expect(fast).toBe(reference);
  });

  it('calls the bindings with their arguments, and fails as they fail', async () => {
    const bindings = { ref: (id: number) => `Patient/${id}`, fail: () => { throw new Error('no entry'); } };
    expect(await both('{ "r": $ref(id) }', { id: 7 }, bindings)).toEqual({ fast: '{"r":"Patient/7"}', reference: '{"r":"Patient/7"}' });
    const run = await compileJs(jsonata('$fail()'));
    expect(() => run!({}, bindings)).toThrow('no entry');
  });

  it('hands on a value jsonata would refuse or treat another way (Unsupported), for the next evaluator', async () => {
    const handsOn = async (source: string, input: unknown) => {
      const run = await compileJs(jsonata(source));
      expect(() => run!(input, {})).toThrow(Unsupported);
    };
    await handsOn('$uppercase(n)', { n: 1 }); // T0410
    await handsOn('$each(list, function($v) { $v })', { list: [1] }); // T0410
    await handsOn('$merge(["a"])', {}); // T0412
    await handsOn('$replace("a", /a/, function($m) { 1 })', {}); // D3012
    await handsOn('name', [{ name: 'a' }]); // an array input is an outer sequence
    await handsOn('items.{ "n": name }', { items: [[{ name: 'a' }]] }); // an array as a step's context
  });

  it.each([
    ['sorting', 'items^(name)'],
    ['grouping', 'items{ name: value }'],
    ['computed object keys', 'items.{ name: value }'],
    ['$replace with a string replacement', '$replace(s, /a/, "b")'],
    ['a regular expression elsewhere', '$match(s, /a/)'],
    ['arithmetic', 'n + 1'],
    ['a function as a value', '($f := function($x) { $x }; $f)'],
    ['a block variable hiding another', '($x := 1; ($x := 2; $x))'],
    ['a built-in the compiler does not know', '$sort(list)'],
  ])('leaves %s to the next evaluator', async (_name, source) => {
    expect(await compileJs(jsonata(source))).toBeUndefined();
  });
});
