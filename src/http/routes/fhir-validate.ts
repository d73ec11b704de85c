/** The standard FHIR $validate operation, for integrators checking their own resources against UK Core. */
import { Router } from 'express';
import type { OperationOutcomeIssue, Parameters, Resource } from 'fhir/r4';
import { badRequest, issue, outcome } from '../../fhir/operation-outcome';
import { fhirOk } from '../respond';
import { permit, type Security } from '../security';

/** The resource to validate: the body itself, or the `resource` parameter of a Parameters body. */
function resourceFrom(body: unknown): Resource {
  if (!body || typeof body !== 'object' || typeof (body as Resource).resourceType !== 'string') {
    throw badRequest('The body must be a FHIR resource, or Parameters with a resource parameter', 'resourceType');
  }
  const resource = body as Resource;
  if (resource.resourceType !== 'Parameters') return resource;
  const param = (resource as Parameters).parameter?.find((p) => p.name === 'resource')?.resource;
  if (!param) throw badRequest('Parameters must hold a resource parameter', 'Parameters.parameter');
  return param;
}

/** The UK Core validator, in this thread or on the prepare pool's. */
export interface ResourceValidator {
  validate(resource: Resource, options?: { profile?: string }): OperationOutcomeIssue[] | Promise<OperationOutcomeIssue[]>;
}

export function fhirValidateRouter(validator: ResourceValidator, security: Security): Router {
  const router = Router();
  const validate = security.guarded('execute', 'validate a resource against UK Core', async (req) => {
    permit({ type: 'validate' });
    const resource = resourceFrom(req.body);
    const type = req.params.type as string | undefined;
    if (type && resource.resourceType !== type) {
      throw badRequest(`The resource is a ${resource.resourceType}, not a ${type}`, 'resourceType');
    }
    const profile = typeof req.query.profile === 'string' ? req.query.profile : undefined;
    const issues = await validator.validate(resource, { profile });
    // $validate answers 200 with the outcome whatever it finds; an empty outcome still needs one issue.
    return fhirOk(outcome(issues.length > 0 ? issues : [issue('information', 'informational', 'No issues found')]));
  });
  router.post('/fhir/$validate', validate);
  router.post('/fhir/:type/$validate', validate);
  return router;
}
