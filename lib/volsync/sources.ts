// Which ReplicationSource an app means, and what to say when there is none
// (or more than one). Pure; sources.io.ts reads them.
import { OperationError, UsageError } from '../errors.ts'
import { RS, backupName, ref, type ReplicationSource } from './objects.ts'

/** The label that names an app (Kubernetes' recommended labels). */
export const APP_LABEL = 'app.kubernetes.io/name'

/** What the operator asked for: APP, and SOURCE and NAMESPACE when given. */
export interface SourceQuery {
  app: string
  /** SOURCE: the ReplicationSource's name, given explicitly */
  source?: string
  namespace?: string
}

/**
 * How a source was found. SOURCE names it; without SOURCE, in order: named
 * <APP>-backup; named <APP>; labelled app.kubernetes.io/name=<APP>, or its
 * sourcePVC is <APP> or <APP>-data (the last two are one rule: equally good).
 */
export type SourceRule = 'source' | 'backup-name' | 'app-name' | 'label' | 'pvc'

/** The precedence of each rule: the first one that matches anything decides. */
const TIER: Record<SourceRule, number> = { source: 0, 'backup-name': 1, 'app-name': 2, label: 3, pvc: 3 }

/** The source an app means, and the rule that found it (printed by commands, shown in plans). */
export interface FoundSource {
  source: ReplicationSource
  rule: SourceRule
  /** the rule in words: "labelled app.kubernetes.io/name=odoo", "its sourcePVC is odoo-data" */
  how: string
}

/** Which rule makes `rs` a source of the query, if any (the first that applies). */
export function matchRule(rs: ReplicationSource, query: SourceQuery): SourceRule | undefined {
  if (query.namespace !== undefined && rs.metadata.namespace !== query.namespace) return undefined
  const name = rs.metadata.name
  if (query.source !== undefined) return name === query.source ? 'source' : undefined
  if (name === backupName(query.app)) return 'backup-name'
  if (name === query.app) return 'app-name'
  if (rs.metadata.labels?.[APP_LABEL] === query.app) return 'label'
  const pvc = rs.spec?.sourcePVC
  if (pvc !== undefined && (pvc === query.app || pvc === `${query.app}-data`)) return 'pvc'
  return undefined
}

function ruleText(rule: SourceRule, rs: ReplicationSource, query: SourceQuery): string {
  switch (rule) {
    case 'source':
      return `named by SOURCE=${rs.metadata.name}`
    case 'backup-name':
      return `named ${rs.metadata.name} (<APP>-backup)`
    case 'app-name':
      return `named ${rs.metadata.name}, like the app`
    case 'label':
      return `labelled ${APP_LABEL}=${query.app}`
    case 'pvc':
      return `its sourcePVC is ${rs.spec.sourcePVC}`
  }
}

/** namespace, then name, in code-point order (as kubectl lists them) */
function byRef(a: ReplicationSource, b: ReplicationSource): number {
  const [x, y] = [[a.metadata.namespace ?? '', a.metadata.name], [b.metadata.namespace ?? '', b.metadata.name]]
  return x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : x[1]! < y[1]! ? -1 : x[1]! > y[1]! ? 1 : 0
}

const scopeText = (cluster: string, namespace?: string) =>
  namespace ? `namespace ${namespace} of cluster ${cluster}` : `cluster ${cluster}`

/**
 * The one source the query means among `candidates` (every source read, or
 * at least every one that matchRule accepts). `existing` (namespace/name of
 * every source of the cluster, when it could be read) is listed when nothing
 * matches. More than one match of the deciding rule is a usage error that
 * lists them and asks for SOURCE (or NAMESPACE, when one name exists in
 * several namespaces).
 */
export function resolveSource(
  candidates: readonly ReplicationSource[],
  query: SourceQuery,
  cluster: string,
  existing: readonly string[] | undefined,
): FoundSource {
  const matched = candidates.flatMap((rs) => {
    const rule = matchRule(rs, query)
    return rule ? [{ rs, rule }] : []
  })
  if (matched.length === 0) throw notFound(query, cluster, existing)
  const tier = Math.min(...matched.map((m) => TIER[m.rule]))
  const top = matched.filter((m) => TIER[m.rule] === tier).sort((a, b) => byRef(a.rs, b.rs))
  if (top.length === 1) return { source: top[0]!.rs, rule: top[0]!.rule, how: ruleText(top[0]!.rule, top[0]!.rs, query) }

  const names = new Set(top.map((m) => m.rs.metadata.name))
  if (names.size === 1) {
    const [name] = names
    throw new UsageError(
      `ReplicationSource ${name} exists in ${top.length} namespaces on cluster ${cluster}: ` +
        `${top.map((m) => m.rs.metadata.namespace).join(', ')}. Say which with NAMESPACE=<ns> (--namespace).`,
    )
  }
  const width = Math.max(...top.map((m) => ref(m.rs).length))
  const also = top.length > names.size ? ', and NAMESPACE=<ns> (--namespace) where a name is in several namespaces' : ''
  throw new UsageError(
    [
      `APP=${query.app} matches ${top.length} ReplicationSources in ${scopeText(cluster, query.namespace)}:`,
      ...top.map((m) => `  ${ref(m.rs).padEnd(width)}  ${ruleText(m.rule, m.rs, query)}`),
      `Say which with SOURCE=<name> (--source)${also}.`,
    ].join('\n'),
  )
}

function notFound(query: SourceQuery, cluster: string, existing: readonly string[] | undefined): OperationError {
  const scope = scopeText(cluster, query.namespace)
  const list = [...(existing ?? [])].sort()
  const details = list.length
    ? `ReplicationSources that exist:\n${list.map((r) => `  ${r}`).join('\n')}`
    : `There are no ReplicationSources on cluster ${cluster}.`
  if (query.source !== undefined) return new OperationError(`ReplicationSource ${query.source} not found in ${scope}.`, details)
  const { app } = query
  return new OperationError(
    `No ReplicationSource for APP=${app} in ${scope}: none is named ${backupName(app)} or ${app}, ` +
      `labelled ${APP_LABEL}=${app}, or has sourcePVC ${app} or ${app}-data.`,
    list.length ? `${details}\nName one with SOURCE=<name> (--source).` : details,
  )
}

/**
 * The note a command prints when APP found its source by a later rule than
 * <APP>-backup (the usual name; SOURCE is the operator's own word), so the
 * operator sees which object the command acts on and why; undefined otherwise.
 */
export function foundNote(found: FoundSource, query: SourceQuery): string | undefined {
  if (found.rule === 'source' || found.rule === 'backup-name') return undefined
  const missing = found.rule === 'app-name' ? backupName(query.app) : `${backupName(query.app)} or ${query.app}`
  return `APP=${query.app}: ReplicationSource ${ref(found.source)}, ${found.how} (there is no ${missing})`
}

/** The error for a cluster without the VolSync CRDs. */
export function volsyncMissing(cluster: string): OperationError {
  return new OperationError(
    `VolSync is not installed on cluster ${cluster}: the API server has no ${RS} resource.`,
    'Check the cluster (CLUSTER / KUBECONFIG) and that the VolSync operator and its CRDs are deployed.',
  )
}
