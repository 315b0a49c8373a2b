// Reading ReplicationSources: the app's source (<app>-backup), or all of them
// in scope. Thin fetchers; the decisions are in sources.ts.
import { KubectlError, type Kubectl, type Scope } from '../kubectl.ts'
import { RS, backupName, type ReplicationSource } from './objects.ts'
import { pickSource, volsyncMissing } from './sources.ts'

/** Every ReplicationSource in scope, in ONE kubectl read. */
export async function listSources(
  kubectl: Kubectl,
  scope: Scope,
  selectors: { field?: string } = {},
): Promise<ReplicationSource[]> {
  try {
    return await kubectl.list<ReplicationSource>(RS, scope, selectors)
  } catch (err) {
    if (err instanceof KubectlError && err.failure === 'no-resource-type') throw volsyncMissing(kubectl.target.name)
    throw err
  }
}

/** Hands every ReplicationSource in scope to `each`, one at a time, from ONE kubectl read. */
export async function eachSource(kubectl: Kubectl, scope: Scope, each: (rs: ReplicationSource) => void): Promise<void> {
  try {
    await kubectl.eachItem<ReplicationSource>(RS, scope, each)
  } catch (err) {
    if (err instanceof KubectlError && err.failure === 'no-resource-type') throw volsyncMissing(kubectl.target.name)
    throw err
  }
}

/** The ReplicationSource <app>-backup, in NAMESPACE when given, else wherever it is. */
export async function findSource(kubectl: Kubectl, app: string, namespace?: string): Promise<ReplicationSource> {
  const name = backupName(app)
  const scope: Scope = namespace ? { namespace } : { allNamespaces: true }
  const found = await listSources(kubectl, scope, { field: `metadata.name=${name}` })
  const where = { cluster: kubectl.target.name, namespace }
  if (found.length === 1) return pickSource(found, name, where, undefined)
  // Not found (or found twice): say what does exist. A narrow RBAC role may
  // not list cluster-wide; then the message just has no list.
  const all = found.length === 0 ? await listSources(kubectl, { allNamespaces: true }).catch(() => undefined) : undefined
  return pickSource(found, name, where, all)
}
