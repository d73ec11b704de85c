/**
 * Record types whose mappings/<type>/type.json says they are not about a person (staff, the care home) need
 * no NHS number; every other type still does. Run through the real ingest steps (schema, map, validate).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import resident from '../fixtures/records/resident.json';
import staff from '../fixtures/records/staff.json';
import { prepareRecord } from '../../src/ingest/accept';
import { createSchemaChecker } from '../../src/ingest/schema-check';
import { loadMappings } from '../../src/map/mapping-registry';
import { loadValidator } from '../../src/validate';

const mappings = loadMappings();
const deps = { mappings, schemas: createSchemaChecker(mappings), validator: loadValidator() };
const copy = (record: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(record)) as Record<string, unknown>;

describe('records that are not about a person', () => {
  it('refuses a resident record without an NHS number, naming the field', async () => {
    const record = copy(resident);
    delete record.nhsNumber;
    const { issues } = await prepareRecord(deps, record, 'records[1]');
    expect(issues).toEqual([expect.objectContaining({ code: 'required', expression: ['records[1].nhsNumber'] })]);
  });

  it('accepts a staff record without an NHS number and orders it on its own provider record', async () => {
    const record = copy(staff);
    delete record.nhsNumber;
    const { submission, issues } = await prepareRecord(deps, record, '');
    expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(submission?.orderingKey).toBe('VNX12/staff/STF-0031');
  });

  it('drops an NHS number sent on a staff record, so no person is attached to it', async () => {
    const record = { ...copy(staff), nhsNumber: '943 476 5919' };
    const prepared = await prepareRecord(deps, record, '');
    expect(prepared.record).not.toHaveProperty('nhsNumber');
    expect(JSON.stringify(prepared.submission?.bundle)).not.toContain('9434765919');
  });

  it('refuses a type.json setting the gateway does not know, so a typo cannot silently keep a type about a person', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mappings-'));
    fs.copyFileSync(path.join(__dirname, '../../mappings/envelope.schema.json'), path.join(dir, 'envelope.schema.json'));
    fs.cpSync(path.join(__dirname, '../../mappings/staff'), path.join(dir, 'staff'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'staff', 'type.json'), '{ "aboutAPersn": false }');
    expect(() => loadMappings(dir)).toThrow(/mappings\/staff\/type.json: "aboutAPersn" is not a known setting/);
    fs.rmSync(dir, { recursive: true });
  });
});
