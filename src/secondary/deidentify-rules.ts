/**
 * Loads and checks mappings/deidentify.json, the declarative de-identification rules. A rule file with an
 * unknown action or a malformed path stops start-up, so a typo never silently keeps (or drops) an element.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MAPPINGS_DIR } from '../config/paths';

export const ACTIONS = ['keep', 'code', 'identifier', 'reference', 'birth-date', 'postcode-district', 'day'] as const;
export type RuleAction = (typeof ACTIONS)[number];

export interface DeidentifyRules {
  /** Resources carrying any of these meta.security codes (e.g. R restricted) are left out altogether. */
  excludeSecurityLabels: string[];
  ageBand: { from: number; label: string; extension: string };
  /** Per resource type: element path -> action, the common rules merged in. */
  resources: Map<string, Map<string, RuleAction>>;
  /** Resource types left out on purpose, with why (documentation; anything unlisted is left out anyway). */
  excluded: Map<string, string>;
}

export const RULES_PATH = path.join(MAPPINGS_DIR, 'deidentify.json');

export class RulesError extends Error {
  override name = 'RulesError';
}

const PATH = /^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$/;

function actions(where: string, raw: unknown): Map<string, RuleAction> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RulesError(`${where} must be an object of path: action`);
  const out = new Map<string, RuleAction>();
  for (const [element, action] of Object.entries(raw as Record<string, unknown>)) {
    if (!PATH.test(element)) throw new RulesError(`${where}: "${element}" is not an element path`);
    if (!(ACTIONS as readonly unknown[]).includes(action)) {
      throw new RulesError(`${where}.${element}: "${String(action)}" is not one of ${ACTIONS.join(', ')}`);
    }
    out.set(element, action as RuleAction);
  }
  return out;
}

export function parseRules(json: unknown): DeidentifyRules {
  const raw = json as {
    excludeSecurityLabels?: unknown; excludedResourceTypes?: Record<string, string>; ageBand?: DeidentifyRules['ageBand']; common?: unknown; resources?: unknown;
  };
  const common = actions('common', raw.common ?? {});
  if (raw.resources === null || typeof raw.resources !== 'object') throw new RulesError('resources must be an object per resource type');
  const resources = new Map<string, Map<string, RuleAction>>();
  for (const [type, rules] of Object.entries(raw.resources as Record<string, unknown>)) {
    if (!/^[A-Z][A-Za-z]+$/.test(type)) throw new RulesError(`resources: "${type}" is not a resource type`);
    resources.set(type, new Map([...common, ...actions(type, rules)]));
  }
  const band = raw.ageBand;
  if (!band || !Number.isInteger(band.from) || typeof band.label !== 'string' || typeof band.extension !== 'string') {
    throw new RulesError('ageBand needs from (whole years), label and extension');
  }
  const labels = raw.excludeSecurityLabels ?? [];
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw new RulesError('excludeSecurityLabels must list codes');
  const excluded = new Map(Object.entries(raw.excludedResourceTypes ?? {}));
  for (const type of excluded.keys()) if (resources.has(type)) throw new RulesError(`${type} is both excluded and given rules`);
  return { excludeSecurityLabels: labels as string[], ageBand: band, resources, excluded };
}

export function loadRules(file: string = RULES_PATH): DeidentifyRules {
  return parseRules(JSON.parse(fs.readFileSync(file, 'utf8')) as unknown);
}
