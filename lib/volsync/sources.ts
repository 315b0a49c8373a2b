// Which ReplicationSource an app means, and what to say when there is none
// (or more than one). Pure; sources.io.ts reads them.
import { OperationError, UsageError } from '../errors.ts'
import { RS, ref, type ReplicationSource } from './objects.ts'

/**
 * The one source called `name` among `found` (already narrowed to a
 * namespace when one was given). `all` is every source of the cluster, used
 * to say what does exist when nothing matched.
 */
export function pickSource(
  found: readonly ReplicationSource[],
  name: string,
  where: { cluster: string; namespace?: string },
  all: readonly ReplicationSource[] | undefined,
): ReplicationSource {
  const matches = found.filter(
    (rs) => rs.metadata.name === name && (!where.namespace || rs.metadata.namespace === where.namespace),
  )
  if (matches.length === 1) return matches[0]!
  if (matches.length > 1) {
    throw new UsageError(
      `ReplicationSource ${name} exists in ${matches.length} namespaces on cluster ${where.cluster}: ` +
        `${matches.map((rs) => rs.metadata.namespace).join(', ')}. Say which with NAMESPACE=<ns> (--namespace).`,
    )
  }
  const scope = where.namespace ? `namespace ${where.namespace} of cluster ${where.cluster}` : `cluster ${where.cluster}`
  const existing = (all ?? []).map(ref).sort()
  throw new OperationError(
    `ReplicationSource ${name} not found in ${scope}.`,
    existing.length
      ? `ReplicationSources that exist:\n${existing.map((r) => `  ${r}`).join('\n')}`
      : `There are no ReplicationSources on cluster ${where.cluster}.`,
  )
}

/** The error for a cluster without the VolSync CRDs. */
export function volsyncMissing(cluster: string): OperationError {
  return new OperationError(
    `VolSync is not installed on cluster ${cluster}: the API server has no ${RS} resource.`,
    'Check the cluster (CLUSTER / KUBECONFIG) and that the VolSync operator and its CRDs are deployed.',
  )
}
