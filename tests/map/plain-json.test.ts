import jsonata from 'jsonata';
import { plainJson } from '../../src/map/map-record';

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

describe('plainJson gives what a JSON round trip gives', () => {
  const shared = { code: 'x' };
  const cases: [string, unknown][] = [
    ['undefined and function members dropped', { a: 1, b: undefined, c: () => 1, d: [undefined, () => 1, 2] }],
    ['non-finite numbers as null', { a: NaN, b: Infinity, c: [-Infinity] }],
    ['sparse arrays with null holes', { a: Object.assign(new Array<number>(3), { 0: 1, 2: 3 }) }],
    ['nested objects copied, not shared', { a: shared, b: [shared] }],
    ['dates through toJSON', { at: new Date(Date.UTC(2026, 10, 24)) }],
    ['primitives', ['s', 0, -1.5, true, false, null]],
  ];
  it.each(cases)('%s', (_name, value) => {
    expect(plainJson(value)).toStrictEqual(roundTrip(value));
  });

  it('drops the sequence flags of a JSONata result', async () => {
    const result = (await jsonata('[{"a": [1, 2][$ > 1]}, {"b": $map([1, 2], function($v) { $v * 2 })}]').evaluate({})) as unknown;
    const plain = plainJson(result);
    expect(plain).toStrictEqual(roundTrip(result));
    expect(Object.getOwnPropertyNames(plain)).toEqual(['0', '1', 'length']);
  });

  it('copies, so a later change to the source does not reach the copy', () => {
    const source = { a: { b: 1 } };
    const copy = plainJson(source) as { a: { b: number } };
    source.a.b = 2;
    expect(copy.a.b).toBe(1);
  });
});
