/**
 * What the operational aggregates count, read from a resource as mapped (before de-identification): the
 * ISO week it happened in, and whether it is a vital-sign observation, a NEWS2 total of 5 or more, or a
 * hospital stay from the transfer record type.
 */
import type { Resource } from 'fhir/r4';

export type Fact = 'vital-sign' | 'news2-high' | 'hospital-transfer';

const NEWS2_TOTAL = '1104051000000101';
export const NEWS2_HIGH = 5;

type Loose = Record<string, unknown>;
type Coded = { coding?: { system?: string; code?: string }[] };

const codes = (concepts: unknown): string[] =>
  (Array.isArray(concepts) ? concepts : [concepts]).flatMap((c) => ((c as Coded | undefined)?.coding ?? []).map((x) => x.code ?? ''));

export function factOf(resource: Resource, recordType: string): Fact | undefined {
  const r = resource as unknown as Loose;
  if (resource.resourceType === 'Observation') {
    if (codes(r.category).includes('vital-signs')) return 'vital-sign';
    const value = (r.valueQuantity as { value?: unknown } | undefined)?.value;
    if (codes(r.code).includes(NEWS2_TOTAL) && typeof value === 'number' && value >= NEWS2_HIGH) return 'news2-high';
  }
  // A transfer record's Encounter is a hospital stay when its class is inpatient (IMP); a care home stay is NONAC.
  if (resource.resourceType === 'Encounter' && recordType === 'transfer' && (r.class as { code?: string } | undefined)?.code === 'IMP') {
    return 'hospital-transfer';
  }
  return undefined;
}

const DATE_ELEMENTS = ['effectiveDateTime', 'occurrenceDateTime', 'recordedDate', 'dateTime', 'date', 'created', 'authoredOn', 'startDate'];
const PERIOD_ELEMENTS = ['effectivePeriod', 'period'];

/** When the resource's event happened, if it says; else undefined (the caller falls back to when it was recorded). */
export function eventDate(resource: Resource): string | undefined {
  const r = resource as unknown as Loose;
  for (const name of DATE_ELEMENTS) if (typeof r[name] === 'string') return r[name] as string;
  for (const name of PERIOD_ELEMENTS) {
    const start = (r[name] as { start?: unknown } | undefined)?.start;
    if (typeof start === 'string') return start;
  }
  return undefined;
}

/** The ISO 8601 week of a date ("2026-W45"), or undefined when it has no day. */
export function isoWeek(date: string): string | undefined {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T00:00:00Z` : date);
  if (!/^\d{4}-\d{2}-\d{2}/.test(date) || Number.isNaN(ms)) return undefined;
  const d = new Date(ms);
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
