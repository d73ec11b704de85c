/**
 * What personal data looks like in this suite's traffic: every NHS number, name, birth date and address
 * line in the fixtures, plus anything shaped like an NHS number or a calendar date. Every test gateway's
 * log is checked against it when the gateway stops, so the whole suite's traffic proves the logs clean.
 */
import fs from 'node:fs';
import path from 'node:path';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

function fixtureRecords(): Record<string, any>[] {
  const records: Record<string, any>[] = [];
  for (const file of fs.readdirSync(path.join(FIXTURES, 'records'))) {
    if (file.endsWith('.json') && !file.endsWith('.expected.json')) records.push(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'records', file), 'utf8')));
  }
  const dataset = path.join(FIXTURES, 'care-home', 'records.ndjson');
  for (const line of fs.readFileSync(dataset, 'utf8').split('\n').filter(Boolean)) records.push(JSON.parse(line));
  return records;
}

/** Names, birth dates and address lines of the people in the fixtures (at least 4 characters long). */
function knownPersonalValues(): string[] {
  const values = new Set<string>();
  for (const r of fixtureRecords()) {
    if (r.type !== 'resident') continue;
    const d = r.data ?? {};
    for (const v of [...(d.name?.given ?? []), d.name?.family, d.birthDate, ...(d.address?.lines ?? []), d.address?.postcode, ...(d.nextOfKin ?? []).map((k: { name: string }) => k.name)]) {
      if (typeof v === 'string' && v.length >= 4) values.add(v);
    }
  }
  return [...values];
}

const known = knownPersonalValues();
const SHAPES: [string, RegExp][] = [
  // Not inside a longer run of letters and digits (a UUID's last group can hold ten digits).
  ['an NHS number', /(?<![0-9A-Za-z])\d{3}[ -]?\d{3}[ -]?\d{4}(?![0-9A-Za-z])/],
  ['a calendar date', /(?<!\d)(19|20)\d\d-\d\d-\d\d(?!\d)/],
];

/** Throws naming the first personal datum found in the log lines (the timestamp field excepted). */
export function assertNoPersonalData(lines: string[]): void {
  for (const line of lines) {
    const fields = JSON.parse(line) as Record<string, unknown>;
    delete fields.timestamp;
    const text = JSON.stringify(fields);
    for (const [what, shape] of SHAPES) {
      if (shape.test(text)) throw new Error(`A log line holds ${what}: ${text.replace(shape, '<HERE>')}`);
    }
    const found = known.find((value) => text.includes(value));
    if (found) throw new Error(`A log line holds personal data from the fixtures: ${text.replace(found, '<HERE>')}`);
  }
}
