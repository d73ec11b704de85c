/**
 * npm run generate -- [--residents 50] [--days 30] [--seed 20261124] [--out tests/fixtures/care-home/records.ndjson]
 *
 * A realistic, reproducible care home data set: one care home, N residents, and a month of records of every
 * record type in mappings/ (daily vital signs with a true NEWS2 score; the other types built from each
 * type's example.json, re-keyed to the resident). Record types not about a person (type.json: the care home's
 * location, its staff) come once, first, with no NHS number; each resident's records name the staff member who
 * recorded them. Same seed, same file. NHS numbers are from the 999 test range.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MAPPINGS_DIR, ROOT_DIR } from '../src/config/paths';
import { loadMappings } from '../src/map/mapping-registry';

const { values } = parseArgs({
  options: {
    residents: { type: 'string', default: '50' },
    days: { type: 'string', default: '30' },
    seed: { type: 'string', default: '20261124' },
    out: { type: 'string', default: path.join(ROOT_DIR, 'tests/fixtures/care-home/records.ndjson') },
  },
});

/** mulberry32: a small seeded PRNG, so the data set is the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(Number(values.seed));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const between = (low: number, high: number): number => low + random() * (high - low);
const round = (n: number, places = 0): number => Number(n.toFixed(places));

/** The i-th valid NHS number in the 999 test range (Modulus 11; check value 10 skipped). */
export function testNhsNumber(i: number): string {
  for (let n = i; ; n++) {
    const nine = `999${String(n).padStart(6, '0')}`;
    const sum = [...nine].reduce((s, d, k) => s + Number(d) * (10 - k), 0);
    const check = 11 - (sum % 11);
    if (check !== 10) return `${nine}${check === 11 ? 0 : check}`;
  }
}

/** NEWS2 (RCP 2017) sub-scores for SpO2 scale 1, on air or oxygen. */
function news2(v: { rr: number; spo2: number; oxygen: boolean; sbp: number; pulse: number; acvpu: string; temp: number }) {
  const band = (x: number, bands: [number, number][], above = 3) => bands.find(([limit]) => x <= limit)?.[1] ?? above;
  const subscores = {
    respirationRate: band(v.rr, [[8, 3], [11, 1], [20, 0], [24, 2]]),
    oxygenSaturation: band(-v.spo2, [[-96, 0], [-94, 1], [-92, 2]]),
    airOrOxygen: v.oxygen ? 2 : 0,
    systolicBloodPressure: band(v.sbp, [[90, 3], [100, 2], [110, 1], [219, 0]]),
    pulse: band(v.pulse, [[40, 3], [50, 1], [90, 0], [110, 1], [130, 2]]),
    consciousness: v.acvpu === 'alert' ? 0 : 3,
    temperature: band(v.temp, [[35, 3], [36, 1], [38, 0], [39, 1]], 2),
  };
  return { total: Object.values(subscores).reduce((a, b) => a + b, 0), subscores };
}

const GIVEN = { female: ['Edith', 'Joan', 'Margaret', 'Dorothy', 'Irene', 'Betty', 'Sheila', 'Jean'], male: ['Arthur', 'Harold', 'Kenneth', 'Dennis', 'Ronald', 'Frank', 'Stanley', 'Walter'] };
const FAMILY = ['Smith', 'Jones', 'Taylor', 'Brown', 'Wilson', 'Evans', 'Thomas', 'Roberts', 'Walker', 'Wright', 'Hughes', 'Green'];
const GP_PRACTICES = ['B86016', 'B86022', 'B86030'];
const CARE_HOME = { odsCode: 'VNX12', name: 'Rose Court Care Home' };
const SOURCE = 'ExampleCare 4.2';
const MONTH_START = Date.UTC(2026, 9, 1, 8, 0, 0); // 1 October 2026, 08:00

const LANGUAGES = ['pl', 'pa', 'ur', 'cy', 'bfi'];
const NEEDS = ['hearing', 'sight', 'learning-disability'];

type Json = Record<string, unknown>;
interface Example { recordId: string; data: Json }
const registry = loadMappings(MAPPINGS_DIR);
const examples = new Map<string, Example>();
const careHomeExamples = new Map<string, Example>();
for (const type of fs.readdirSync(MAPPINGS_DIR)) {
  const file = path.join(MAPPINGS_DIR, type, 'example.json');
  if (type === 'resident' || type === 'vital-signs' || !fs.existsSync(file)) continue;
  (registry.types.get(type)?.aboutAPerson === false ? careHomeExamples : examples).set(type, JSON.parse(fs.readFileSync(file, 'utf8')));
}
/** The staff member who records residents' records (the staff type's example), if there is a staff type. */
const RECORDER = careHomeExamples.get('staff')?.recordId;

const envelope = (type: string, recordId: string, nhsNumber: string | undefined, at: number, data: Json): Json => ({
  type, recordId, version: 1, ...(nhsNumber ? { nhsNumber } : {}), careProvider: CARE_HOME, sourceSystem: SOURCE,
  recordedAt: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'), ...(nhsNumber && RECORDER ? { recordedByStaffRecordId: RECORDER } : {}), data,
});

const lines: string[] = [];
// The care home itself and its staff, once, before any resident's records.
for (const [type, example] of careHomeExamples) lines.push(JSON.stringify(envelope(type, example.recordId, undefined, MONTH_START, example.data)));
const residents = Number(values.residents);
const days = Number(values.days);
for (let r = 0; r < residents; r++) {
  const nhs = testNhsNumber(r * 7 + 1);
  const gender = random() < 0.65 ? 'female' : 'male';
  const id = String(r + 1).padStart(3, '0');
  lines.push(JSON.stringify(envelope('resident', `RES-${id}`, nhs, MONTH_START, {
    name: { given: [pick(GIVEN[gender])], family: pick(FAMILY) },
    birthDate: `${1925 + Math.floor(random() * 25)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
    gender,
    nhsNumberVerified: random() < 0.9,
    address: { lines: ['Rose Court Care Home', '1 Garden Lane'], city: 'Leeds', postcode: 'LS1 4AP' },
    gpPracticeOdsCode: pick(GP_PRACTICES),
    ...(random() < 0.1 ? { languages: [{ code: pick(LANGUAGES), preferred: true }, { code: 'en' }], interpreterRequired: random() < 0.5 } : {}),
    ...(random() < 0.3 ? { communicationNeeds: { [pick(NEEDS)]: {} } } : {}),
  })));

  const unwell = random() < 0.15;
  for (let d = 0; d < days; d++) {
    const at = MONTH_START + d * 86_400_000 + Math.floor(random() * 3_600_000);
    const v = {
      rr: round(between(12, unwell ? 24 : 19)), spo2: round(between(unwell ? 90 : 94, 99)), oxygen: false,
      sbp: round(between(unwell ? 95 : 110, 150)), pulse: round(between(58, unwell ? 115 : 92)), acvpu: 'alert', temp: round(between(36.1, unwell ? 38.6 : 37.4), 1),
    };
    const effective = new Date(at - 300_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lines.push(JSON.stringify(envelope('vital-signs', `OBS-${id}-${String(d + 1).padStart(2, '0')}`, nhs, at, {
      effectiveDateTime: effective,
      bloodPressure: { systolic: v.sbp, diastolic: round(between(60, 90)), position: 'sitting' },
      pulse: v.pulse,
      respirationRate: v.rr,
      temperature: { value: v.temp, site: 'tympanic' },
      oxygenSaturation: { value: v.spo2, scale: 1, onSupplementalOxygen: v.oxygen },
      acvpu: v.acvpu,
      news2: news2(v),
    })));
  }

  // Every other record type once per resident in the month, from its example, re-keyed to this resident.
  for (const [type, example] of examples) {
    const at = MONTH_START + Math.floor(random() * days) * 86_400_000 + 36_000_000;
    lines.push(JSON.stringify(envelope(type, `${example.recordId}-${id}`, nhs, at, example.data)));
  }
}

fs.mkdirSync(path.dirname(values.out!), { recursive: true });
fs.writeFileSync(values.out!, `${lines.join('\n')}\n`);
console.log(`wrote ${lines.length} records for ${residents} residents over ${days} days to ${path.relative(process.cwd(), values.out!)}`);
