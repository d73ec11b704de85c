import resident from '../fixtures/records/resident.json';
import { createSchemaChecker, fieldPath } from '../../src/ingest/schema-check';
import { loadMappings } from '../../src/map/mapping-registry';

const checker = createSchemaChecker(loadMappings());
const copy = (): Record<string, any> => JSON.parse(JSON.stringify(resident));

describe('provider record schema check', () => {
  it('passes the sample resident record', () => {
    expect(checker.check(copy(), '')).toEqual([]);
  });

  it('names a missing envelope field', () => {
    const record = copy();
    delete record.careProvider;
    const issues = checker.check(record, '');
    expect(issues).toEqual([expect.objectContaining({ code: 'required', expression: ['careProvider'] })]);
  });

  it('names every bad data field at once, with its path inside the batch', () => {
    const record = copy();
    record.data.birthDate = '14/03/1936';
    record.data.gender = 'F';
    record.data.shoeSize = 7;
    const expressions = checker.check(record, 'records[2]').flatMap((i) => i.expression);
    expect(expressions).toEqual(
      expect.arrayContaining(['records[2].data.birthDate', 'records[2].data.gender', 'records[2].data.shoeSize']),
    );
  });

  it('refuses an unknown record type at the type field', () => {
    const record = copy();
    record.type = 'horoscope';
    expect(checker.check(record, '')).toEqual([expect.objectContaining({ code: 'not-supported', expression: ['type'] })]);
  });

  it('names an array item by index', () => {
    const record = copy();
    record.data.name.given = ['Edith', 42];
    expect(checker.check(record, '')[0].expression).toEqual(['data.name.given[1]']);
  });

  it('refuses wrong JSON types without throwing', () => {
    for (const bad of [null, 42, 'text', [], { data: 'x' }]) {
      expect(checker.check(bad, '').length).toBeGreaterThan(0);
    }
  });
});

describe('fieldPath', () => {
  it('turns a JSON pointer into a dotted path with indexes', () => {
    expect(fieldPath('', '/data/nextOfKin/0/name')).toBe('data.nextOfKin[0].name');
    expect(fieldPath('records[1]', '/data', 'gender')).toBe('records[1].data.gender');
    expect(fieldPath('', '')).toBe('$');
  });
});
