/**
 * npm run token -- --role <provider|gp|operator|patient-app|research> [--org ODS] [--nhs NHS_NUMBER] [--project NAME]
 *                  [--scope "s1 s2"] [--ttl 3600|15m|8h] [--sub ID] [--job-role R8000]
 *
 * Prints an access token signed with the development key in DATA_DIR (default ./data/dev-keys), for
 * trying the API from /docs or curl. The key is created when the gateway first starts without
 * AUTH_JWKS_URL / AUTH_PUBLIC_KEY_FILE; this script never creates one, and refuses when the gateway is
 * configured with a real key source (it would not accept the token). Only the token goes to stdout.
 *
 *   npm run -s token -- --role gp --org Y12345
 *   npm run -s token -- --role provider --org VNAA1
 *   npm run -s token -- --role patient-app --nhs 9434765919
 *   npm run -s token -- --role operator
 *   npm run -s token -- --role research --project falls-2026
 */
import { parseArgs } from 'node:util';
import type { Caller } from '../src/auth/caller';
import { isOdsCode, isProjectName, normaliseOdsCode } from '../src/auth/caller';
import { loadDevSigningKey } from '../src/auth/dev-keys';
import { MAX_DEV_TOKEN_SECONDS, mintDevToken } from '../src/auth/dev-token';
import { loadConfig } from '../src/config';
import { checkNhsNumber } from '../src/ingest/nhs-number';

const ROLES = ['provider', 'gp', 'operator', 'patient-app', 'research'] as const;
type Role = (typeof ROLES)[number];

const DEFAULT_SCOPES: Record<Role, string> = {
  provider: 'system/*.write',
  gp: 'user/*.read',
  operator: '',
  'patient-app': 'patient/AuditEvent.read',
  research: 'system/*.read',
};

class UsageError extends Error {}

function seconds(text: string): number {
  const match = /^(\d+)([smh]?)$/.exec(text.trim());
  if (!match) throw new UsageError(`--ttl must be seconds or a duration like 15m or 8h, got "${text}"`);
  const value = Number(match[1]) * ({ '': 1, s: 1, m: 60, h: 3600 } as Record<string, number>)[match[2]];
  if (value < 1 || value > MAX_DEV_TOKEN_SECONDS) throw new UsageError(`--ttl must be at most ${MAX_DEV_TOKEN_SECONDS / 3600}h`);
  return value;
}

function org(value: string | undefined, role: Role): string {
  if (!value) throw new UsageError(`--role ${role} needs --org <ODS code>`);
  if (!isOdsCode(value)) throw new UsageError(`--org must be an ODS code (3-10 letters and digits), got "${value}"`);
  return normaliseOdsCode(value);
}

function callerFor(values: Record<string, string | undefined>): Caller {
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const scopes = (values.scope ?? DEFAULT_SCOPES[role]).split(/\s+/).filter(Boolean);
  switch (role) {
    case 'provider': {
      const odsCode = org(values.org, role);
      return { kind: 'provider', clientId: values.sub ?? `dev-provider-${odsCode}`, odsCode, scopes };
    }
    case 'gp':
      return { kind: 'clinician', userId: values.sub ?? 'dev-gp', odsCode: org(values.org, role), role: values['job-role'] ?? 'R8000', scopes };
    case 'operator':
      return { kind: 'operator', userId: values.sub ?? 'dev-operator', scopes };
    case 'patient-app': {
      const nhs = checkNhsNumber(values.nhs ?? '');
      if (!nhs.ok) throw new UsageError(`--role patient-app needs --nhs <NHS number>: ${nhs.reason}`);
      return { kind: 'patient-app', clientId: values.sub ?? 'dev-patient-app', nhsNumber: nhs.value, scopes };
    }
    case 'research': {
      const project = values.project ?? '';
      if (!isProjectName(project)) throw new UsageError('--role research needs --project <name> (letters, digits, . _ -)');
      return { kind: 'research', clientId: values.sub ?? `dev-research-${project}`, project, scopes };
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      org: { type: 'string' },
      nhs: { type: 'string' },
      project: { type: 'string' },
      scope: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      sub: { type: 'string' },
      'job-role': { type: 'string' },
    },
    strict: true,
  });
  const caller = callerFor(values);
  const ttlSeconds = seconds(values.ttl ?? '3600');
  const { auth } = loadConfig();
  if (auth.jwksUrl || auth.publicKeyFile) {
    console.error('AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE is set: the gateway accepts no development tokens. Get a token from your identity provider.');
    return 1;
  }
  const key = await loadDevSigningKey(auth.devKeyDir);
  if (!key) {
    console.error(`No development key in ${auth.devKeyDir}. Start the gateway once (npm start) to create it, with the same DATA_DIR.`);
    return 1;
  }
  const token = await mintDevToken(key, caller, { issuer: auth.issuer, audience: auth.audience, ttlSeconds });
  const org = caller.kind === 'provider' || caller.kind === 'clinician' ? ` at ${caller.odsCode}` : '';
  console.error(`development ${caller.kind} token${org}, scopes "${caller.scopes.join(' ')}", valid ${ttlSeconds}s`);
  console.log(token);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof UsageError || err instanceof TypeError ? `token: ${(err as Error).message}` : err);
    process.exitCode = 2;
  },
);
