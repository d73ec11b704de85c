/**
 * Who is calling and whether they may: the HTTP side of src/auth. Routes state what they do (`guarded`);
 * the policy module decides; every outcome (allowed, refused, failed) is written to the audit trail
 * before the answer goes out.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditAction } from '../audit/audit-event';
import type { AuditLog } from '../audit/audit-log';
import type { Authenticator } from '../auth/authenticate';
import type { Caller } from '../auth/caller';
import { authorize, type Action } from '../auth/policy';
import { OperationOutcomeError, issue } from '../fhir/operation-outcome';
import { currentContext } from '../observability/request-context';
import { send, type Reply } from './respond';

/** Header in which a clinician states why they are opening a record outside their practice. */
export const BREAK_GLASS_HEADER = 'x-break-glass-reason';

export function callerOf(): Caller {
  const caller = currentContext()?.caller;
  if (!caller) throw new OperationOutcomeError(401, [issue('error', 'login', 'Not authenticated')]);
  return caller;
}

/** Asks the policy; a refusal is a 403 OperationOutcome with the policy's reason. */
export function permit(action: Action): { breakGlass?: boolean } {
  const decision = authorize(callerOf(), action);
  if (!decision.allow) throw new OperationOutcomeError(403, [issue('error', 'forbidden', decision.reason)]);
  return decision;
}

function outcomeOf(err: unknown): 'refused' | 'error' {
  return err instanceof OperationOutcomeError && err.status < 500 ? 'refused' : 'error';
}

export interface Security {
  /** Verifies the bearer token and puts the caller in the request context; a failure is audited and 401. */
  authenticate: RequestHandler;
  /** A handler whose every outcome is audited as `action`, described for reviewers by `description`. */
  guarded(action: AuditAction, description: string, fn: (req: Request) => Promise<Reply> | Reply): RequestHandler;
}

export function createSecurity(authenticator: Authenticator, audit: AuditLog): Security {
  const record = async (action: AuditAction, description: string, outcome: 'success' | 'refused' | 'error') => {
    const context = currentContext();
    await audit.record(
      { caller: context?.caller, action, outcome, description: context?.auditDetail ? `${description}: ${context.auditDetail}` : description, breakGlassReason: context?.breakGlassReason, sourceAddress: context?.sourceAddress },
      context?.subjects ?? [],
    );
  };

  return {
    authenticate: async (req: Request, _res: Response, next: NextFunction) => {
      const context = currentContext();
      if (context) context.sourceAddress = req.socket.remoteAddress;
      try {
        const caller = await authenticator.authenticate(req.header('authorization'));
        if (context) context.caller = caller;
        const reason = req.header(BREAK_GLASS_HEADER);
        if (context && reason !== undefined) context.breakGlassReason = reason;
        next();
      } catch (err) {
        try {
          await record('execute', 'authentication failed', 'refused');
        } catch (auditErr) {
          next(auditErr);
          return;
        }
        next(err);
      }
    },

    guarded(action, description, fn) {
      return async (req, res, next) => {
        let reply: Reply;
        try {
          reply = await fn(req);
        } catch (err) {
          try {
            await record(action, description, outcomeOf(err));
          } catch (auditErr) {
            next(auditErr);
            return;
          }
          next(err);
          return;
        }
        try {
          await record(action, description, 'success');
          await send(res, reply);
        } catch (err) {
          next(err);
        }
      };
    },
  };
}
