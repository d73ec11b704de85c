/**
 * Operational aggregates per care provider and ISO week, with small-number suppression: a count of 1 to 7
 * is shown as "<8" (0 stays 0), so no cell points at a handful of people. No totals are given, so a
 * suppressed cell cannot be worked out from the others in the same table.
 */
import type { AggregateRow, ResearchStore } from './research-store';

export const SUPPRESS_BELOW = 8;
export type Count = number | '<8';

export interface AggregateCell {
  provider: string;
  week: string;
  residents: Count;
  vitalSignObservations: Count;
  news2High: Count;
  hospitalTransfers: Count;
}

export function suppress(n: number): Count {
  return n > 0 && n < SUPPRESS_BELOW ? '<8' : n;
}

export function suppressed(rows: AggregateRow[]): AggregateCell[] {
  return rows.map((r) => ({
    provider: r.provider,
    week: r.week,
    residents: suppress(r.residents),
    vitalSignObservations: suppress(r.vitalSigns),
    news2High: suppress(r.news2High),
    hospitalTransfers: suppress(r.hospitalTransfers),
  }));
}

export function aggregates(store: ResearchStore): AggregateCell[] {
  return suppressed(store.aggregates());
}

const COLUMNS: (keyof AggregateCell)[] = ['provider', 'week', 'residents', 'vitalSignObservations', 'news2High', 'hospitalTransfers'];
const HEADER = ['provider', 'week', 'residents', 'vital_sign_observations', 'news2_high', 'hospital_transfers'];

/** RFC 4180 CSV; every value is an ODS code, an ISO week, a number or "<8", so none needs quoting. */
export function toCsv(cells: AggregateCell[]): string {
  return [HEADER.join(','), ...cells.map((c) => COLUMNS.map((k) => String(c[k])).join(','))].map((l) => `${l}\r\n`).join('');
}
