// settings.v1.RecordingRulesService (Connect, gRPC, gRPC-Web): tenants manage
// their recording rules. Semantics and error texts follow Pyroscope's
// tenant-settings API (docs/recording-rules.md, "API"), except that
// provisioned rules are refused with FailedPrecondition instead of being
// shadowed silently, and a delete never reports success on a storage error.

import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import {
  RecordingRuleStoreSchema,
  RecordingRulesService,
  type UpsertRecordingRuleRequest,
} from '../../gen/settings/v1/recording_rules_pb.js';
import { IngestError } from '../ingest/errors.js';
import { type TenancyOptions, resolveTenant } from '../ingest/tenant.js';
import { CorruptRulesError } from './rules-object.js';
import { type RuleSource, toApiRule } from './source.js';
import {
  InvalidTenantError,
  RuleConflictError,
  RuleLimitError,
  RuleNotFoundError,
  type RuleStore,
  RuleStoreBusyError,
} from './store.js';
import { InvalidRuleError, generateRuleId, validateUpsert } from './validate.js';

/** Largest request body this service reads: one rule is a few KiB; validation bounds every field well below this. */
export const RULES_READ_MAX_BYTES = 1024 * 1024;

export interface RecordingRulesServiceDeps {
  source: RuleSource;
  store: RuleStore;
  tenancy: TenancyOptions;
  logger: Logger;
  registry?: Registry;
}

/** A Connect error for a request that tried to change a rule from the rules/ folder. */
function provisionedError(id: string): ConnectError {
  return new ConnectError(`rule "${id}" is provisioned from the rules folder and is read-only`, Code.FailedPrecondition);
}

/** Maps what the store, the validator and tenancy throw onto Connect codes; anything else is Internal. */
function toConnectError(err: unknown, logger: Logger, method: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof InvalidRuleError || err instanceof InvalidTenantError) return new ConnectError(err.message, Code.InvalidArgument);
  if (err instanceof IngestError) return new ConnectError(err.message, err.status === 401 ? Code.Unauthenticated : Code.InvalidArgument);
  if (err instanceof RuleConflictError) return new ConnectError(err.message, Code.AlreadyExists);
  if (err instanceof RuleLimitError) return new ConnectError(err.message, Code.ResourceExhausted);
  if (err instanceof RuleStoreBusyError) return new ConnectError(err.message, Code.Aborted);
  if (err instanceof CorruptRulesError) return new ConnectError(err.message, Code.Internal);
  const message = err instanceof Error ? err.message : String(err);
  logger.error({ method, err: message }, 'recording rules storage error');
  return new ConnectError(`recording rules storage error: ${message}`, Code.Internal);
}

/** `id is required` for an id that is empty once trimmed. */
function requiredId(raw: string): string {
  const id = raw.trim();
  if (id === '') throw new ConnectError('id is required', Code.InvalidArgument);
  return id;
}

export function recordingRulesServiceImpl(deps: RecordingRulesServiceDeps): ServiceImpl<typeof RecordingRulesService> {
  const { source, store, logger } = deps;
  const requests = deps.registry
    ? new Counter({
      name: 'kiln_recording_rules_requests_total',
      help: 'settings.v1.RecordingRulesService requests by method and result code.',
      labelNames: ['method', 'code'],
      registers: [deps.registry],
    })
    : undefined;
  const tenantOf = (ctx: HandlerContext) => resolveTenant(ctx.requestHeader.get('x-scope-orgid'), deps.tenancy);

  /** Runs one RPC: counts it by its outcome and turns every failure into a ConnectError. */
  async function handle<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      const res = await fn();
      requests?.inc({ method, code: 'ok' });
      return res;
    } catch (err) {
      const e = toConnectError(err, logger, method);
      requests?.inc({ method, code: Code[e.code] });
      throw e;
    }
  }

  return {
    getRecordingRule: (req, ctx) =>
      handle('GetRecordingRule', async () => {
        const tenant = tenantOf(ctx);
        const id = requiredId(req.id);
        const rule = await source.get(tenant, id);
        if (!rule) throw new ConnectError(`no rule with id='${id}' found`, Code.NotFound);
        return { rule };
      }),

    listRecordingRules: (_req, ctx) =>
      handle('ListRecordingRules', async () => ({ rules: await source.rulesFor(tenantOf(ctx)) })),

    upsertRecordingRule: (req, ctx) =>
      handle('UpsertRecordingRule', async () => {
        const tenant = tenantOf(ctx);
        validateUpsert(req);
        // An empty id creates a rule. 52^10 possible ids make a collision with
        // an existing one (which would then be an update) negligible.
        const id = req.id === '' ? generateRuleId() : req.id;
        if (source.isProvisioned(tenant, id)) throw provisionedError(id);
        const stored = await store.upsert(tenant, toStored(id, req));
        return { rule: toApiRule(stored) };
      }),

    deleteRecordingRule: (req, ctx) =>
      handle('DeleteRecordingRule', async () => {
        const tenant = tenantOf(ctx);
        const id = requiredId(req.id);
        if (source.isProvisioned(tenant, id)) throw provisionedError(id);
        try {
          await store.delete(tenant, id);
        } catch (err) {
          if (err instanceof RuleNotFoundError) throw new ConnectError(err.message, Code.NotFound);
          throw err;
        }
        return {};
      }),
  };
}

/** The stored form of an upsert: the metric name trimmed (validation accepts stray spaces), generation as sent. */
function toStored(id: string, req: UpsertRecordingRuleRequest) {
  return create(RecordingRuleStoreSchema, {
    id,
    metricName: req.metricName.trim(),
    matchers: req.matchers,
    groupBy: req.groupBy,
    externalLabels: req.externalLabels,
    generation: req.generation,
    stacktraceFilter: req.stacktraceFilter,
  });
}
