/**
 * A de-identified extract for one project: NDJSON, one FHIR resource a line, every pseudonym and hashed id
 * re-keyed with the project's key (so it links within the project and not across projects), opted-out
 * people left out as it is read. Read in pages by row number up to a cut taken at the start, so the count
 * of people audited before the first byte describes the rows that follow; written with backpressure.
 */
import { once } from 'node:events';
import type { Resource } from 'fhir/r4';
import type { Writable } from 'node:stream';
import type { Deidentifier } from './deidentify';
import { HASHED_ID_SYSTEM, PSEUDONYM_SYSTEM, type ProjectKey, type Pseudonyms } from './pseudonyms';
import { EXTRACT_START, type ExtractCut, type ResearchStore } from './research-store';

/** A page: 500 rows, or the row that passes 4 MB of stored JSON, whichever comes first. */
const PAGE = { rows: 500, bytes: 4 * 1024 * 1024 };

/** Resolves when out drains or closes, leaving no listener behind. */
async function drained(out: Writable): Promise<void> {
  const stop = new AbortController();
  const wait = (event: string) => once(out, event, { signal: stop.signal }).then(() => undefined, () => undefined);
  try {
    await Promise.race([wait('drain'), wait('close')]);
  } finally {
    stop.abort();
  }
}

export interface ExtractPlan {
  project: string;
  since: string;
  upTo: ExtractCut;
  /** People in the extract (opted-out people excluded), for the audit trail. */
  people: number;
}

/** Replaces every value under the pseudonym and hashed-id systems with the project's token for it. */
function rekey(value: unknown, key: ProjectKey): unknown {
  if (Array.isArray(value)) return value.map((v) => rekey(v, key));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const tokened = (obj.system === PSEUDONYM_SYSTEM || obj.system === HASHED_ID_SYSTEM) && typeof obj.value === 'string';
  for (const [k, v] of Object.entries(obj)) out[k] = tokened && k === 'value' ? key.token(v as string) : rekey(v, key);
  return out;
}

export class Extracts {
  constructor(
    private readonly store: ResearchStore,
    private readonly pseudonyms: Pseudonyms,
    private readonly deidentifier: Deidentifier,
  ) {}

  plan(project: string, since: string): ExtractPlan {
    const upTo = this.store.cut();
    return { project, since, upTo, people: this.store.people(since, upTo) };
  }

  /** Writes the planned extract to out, waiting for it to drain whenever it asks; returns the lines written. */
  async write(plan: ExtractPlan, out: Writable): Promise<number> {
    const key = this.pseudonyms.projectKey(plan.project);
    let after = EXTRACT_START;
    let lines = 0;
    for (;;) {
      const { rows, next } = this.store.page(plan.since, after, plan.upTo, PAGE);
      for (const row of rows) {
        const current = this.deidentifier.prune(row.resource as Resource);
        if (!current) continue;
        const resource = rekey(current, key) as Record<string, unknown>;
        const line = JSON.stringify({ resourceType: resource.resourceType, id: key.token(row.resourceKey), ...resource });
        lines++;
        if (!out.write(`${line}\n`)) {
          if (out.destroyed) throw new Error('the client went away during the extract');
          await drained(out);
          if (out.destroyed) throw new Error('the client went away during the extract');
        }
      }
      if (!next) return lines;
      after = next;
    }
  }
}
