/**
 * Secondary uses over HTTP: a research environment's de-identified extract (NDJSON), operational aggregates
 * (JSON or CSV, small numbers suppressed), and the operator's National Data Opt-out list. Every call is
 * audited; an extract's audit names the project and how many people it holds, before the first line goes.
 */
import express, { Router, type Request } from 'express';
import { isProjectName } from '../../auth/caller';
import { OperationOutcomeError, issue, outcome, unprocessable } from '../../fhir/operation-outcome';
import { checkNhsNumber } from '../../ingest/nhs-number';
import { noteAuditDetail } from '../../observability/request-context';
import { aggregates, toCsv } from '../../secondary/aggregates';
import type { SecondaryUses } from '../../secondary';
import { requireJson } from '../errors';
import { send } from '../respond';
import { callerOf, permit, type Security } from '../security';

/** The paths of secondary uses: served by secondaryRouter when on, answered 404 by secondaryOffRouter when off. */
const PATHS = {
  extract: '/v1/extracts/deidentified',
  aggregates: '/v1/aggregates',
  optOuts: '/v1/admin/opt-outs',
  removeOptOuts: '/v1/admin/opt-outs/remove',
};

/** Per request; npm run opt-outs sends a longer list in chunks of this size. */
export const MAX_OPT_OUTS = 10_000;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function since(req: Request): string {
  const raw = req.query.since;
  if (raw === undefined) return new Date(0).toISOString();
  if (typeof raw !== 'string' || !INSTANT.test(raw) || Number.isNaN(Date.parse(raw))) {
    throw new OperationOutcomeError(400, [issue('error', 'invalid', 'since must be an ISO 8601 instant with a time zone, e.g. 2026-11-01T00:00:00Z', 'since')]);
  }
  return new Date(raw).toISOString();
}

function project(req: Request): string {
  const caller = callerOf();
  const raw = req.query.project ?? (caller.kind === 'research' ? caller.project : undefined);
  if (typeof raw !== 'string' || !isProjectName(raw)) {
    throw new OperationOutcomeError(400, [issue('error', 'required', 'project must name the extract project (letters, digits, . _ -; up to 64)', 'project')]);
  }
  return raw;
}

function wantsCsv(req: Request): boolean {
  const format = req.query._format;
  if (format !== undefined) return format === 'csv' || format === 'text/csv';
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

/** The body of an opt-out request: { "nhsNumbers": [...] }, each checked by Modulus 11; returns them normalised. */
function nhsNumbers(body: unknown): string[] {
  const list = (body as { nhsNumbers?: unknown } | undefined)?.nhsNumbers;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_OPT_OUTS) {
    throw unprocessable([issue('error', 'structure', `nhsNumbers must be an array of 1 to ${MAX_OPT_OUTS} NHS numbers`, 'nhsNumbers')]);
  }
  const problems = list.flatMap((n, i) => {
    const checked = checkNhsNumber(n);
    return checked.ok ? [] : [issue('error', 'value', checked.reason, `nhsNumbers[${i}]`)];
  });
  if (problems.length > 0) throw unprocessable(problems.slice(0, 100));
  return list.map((n) => (checkNhsNumber(n) as { value: string }).value);
}

export function secondaryRouter(secondary: SecondaryUses, security: Security, maxBodyBytes: number): Router {
  const router = Router();
  const parseJson = [requireJson(['application/json']), express.json({ limit: maxBodyBytes, strict: true })];

  router.get(PATHS.extract, security.guarded('read', 'de-identified extract', (req) => {
    const name = project(req);
    permit({ type: 'extract.read', project: name });
    secondary.flushFeed();
    const plan = secondary.extracts.plan(name, since(req));
    noteAuditDetail(`project ${name}, ${plan.people} people, records since ${plan.since}`);
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      stream: {
        contentType: 'application/fhir+ndjson',
        write: async (out) => {
          try {
            await secondary.extracts.write(plan, out);
          } catch (err) {
            secondary.logger.warn('de-identified extract cut short', { project: name, error: err instanceof Error ? err.message : String(err) });
            throw err;
          }
        },
      },
    };
  }));

  router.get(PATHS.aggregates, security.guarded('read', 'operational aggregates', (req) => {
    permit({ type: 'aggregates.read' });
    secondary.flushFeed();
    const cells = aggregates(secondary.store);
    if (wantsCsv(req)) return { status: 200, stream: { contentType: 'text/csv; charset=utf-8', write: async (out) => void out.write(toCsv(cells)) } };
    return { status: 200, body: { suppression: 'counts from 1 to 7 are shown as "<8"', weeks: 'ISO 8601', rows: cells } };
  }));

  router.post(PATHS.optOuts, ...parseJson, security.guarded('execute', 'register National Data Opt-outs', (req) => {
    permit({ type: 'opt-outs.write' });
    const people = nhsNumbers(req.body).map((n) => secondary.pseudonyms.person(n));
    const added = secondary.store.addOptOuts(people);
    noteAuditDetail(`${added} added`);
    return { status: 200, body: { received: people.length, added, total: secondary.store.optOutCount() } };
  }));

  router.post(PATHS.removeOptOuts, ...parseJson, security.guarded('execute', 'remove National Data Opt-outs', (req) => {
    permit({ type: 'opt-outs.write' });
    const removed = secondary.store.removeOptOuts(nhsNumbers(req.body).map((n) => secondary.pseudonyms.person(n)));
    noteAuditDetail(`${removed} removed`);
    return { status: 200, body: { removed, total: secondary.store.optOutCount() } };
  }));

  router.get(PATHS.optOuts, security.guarded('read', 'count National Data Opt-outs', () => {
    permit({ type: 'opt-outs.write' });
    return { status: 200, body: { total: secondary.store.optOutCount() } };
  }));

  return router;
}

/**
 * With secondary uses off (the default), the same paths answer 404 with why, so an integrator or operator is
 * told what to switch on rather than left to guess at a path. Only an authenticated caller gets here, as for
 * every /v1 path; the answer holds no data, so no policy check follows.
 */
export function secondaryOffRouter(): Router {
  const router = Router();
  router.all(Object.values(PATHS), (_req, res) => {
    const text = 'Secondary uses (de-identified extracts, aggregates, opt-outs) are off on this gateway; an operator turns them on with SECONDARY_USES=on';
    send(res, { status: 404, body: outcome([issue('error', 'not-supported', text)]), fhir: true });
  });
  return router;
}
