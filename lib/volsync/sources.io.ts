// Reading ReplicationSources: the one an app means, or all of them in scope.
// Lists are read as the API server's own JSON, page by page (Kubectl.pages):
// memory stays bounded by a page however many sources a cluster has. Thin
// fetchers; the decisions are in sources.ts.
import { KubectlError, type Kubectl, type Scope } from '../kubectl.ts'
import type { Context } from '../run.ts'
import { RS_API, ref, type ReplicationSource } from './objects.ts'
import { foundNote, matchRule, resolveSource, volsyncMissing, type FoundSource, type SourceQuery } from './sources.ts'

/**
 * Every ReplicationSource in scope, one page at a time. A cluster without
 * VolSync answers the raw path with NotFound (or kubectl says it has no such
 * resource type): that becomes the "VolSync is not installed" error.
 */
export async function* sourcePages(kubectl: Kubectl, scope: Scope): AsyncGenerator<ReplicationSource[]> {
  try {
    yield* kubectl.pages<ReplicationSource>(RS_API, scope)
  } catch (err) {
    if (err instanceof KubectlError && (err.failure === 'no-resource-type' || err.failure === 'not-found')) {
      throw volsyncMissing(kubectl.target.name)
    }
    throw err
  }
}

/** Every ReplicationSource in scope. */
export async function listSources(kubectl: Kubectl, scope: Scope): Promise<ReplicationSource[]> {
  const all: ReplicationSource[] = []
  for await (const page of sourcePages(kubectl, scope)) all.push(...page)
  return all
}

/** Hands every ReplicationSource in scope to `each`, page by page; a page is dropped once handed over. */
export async function eachSource(kubectl: Kubectl, scope: Scope, each: (rs: ReplicationSource) => void): Promise<void> {
  for await (const page of sourcePages(kubectl, scope)) for (const rs of page) each(rs)
}

/**
 * The ReplicationSource an app means (sources.ts resolveSource: SOURCE, else
 * <app>-backup, <app>, the app label, the sourcePVC), from one read of the
 * sources in scope that keeps only the candidates. When nothing matches in
 * NAMESPACE, the message lists what exists in the whole cluster if that can
 * be read (a narrow RBAC role may not list cluster-wide).
 */
export async function findAppSource(kubectl: Kubectl, query: SourceQuery): Promise<FoundSource> {
  const scope: Scope = query.namespace ? { namespace: query.namespace } : { allNamespaces: true }
  const candidates: ReplicationSource[] = []
  let existing: string[] | undefined = []
  for await (const page of sourcePages(kubectl, scope)) {
    for (const rs of page) {
      existing.push(ref(rs))
      if (matchRule(rs, query)) candidates.push(rs)
    }
  }
  if (candidates.length === 0 && query.namespace) {
    const here = existing
    existing = await listSources(kubectl, { allNamespaces: true }).then((all) => all.map(ref), () => here)
  }
  return resolveSource(candidates, query, kubectl.target.name, existing)
}

/**
 * The source of this run's APP (and SOURCE, NAMESPACE). When APP found it by
 * another rule than <app>-backup, a note on stderr says which object and why.
 */
export async function findSource(ctx: Pick<Context, 'kubectl' | 'opts' | 'out'>): Promise<FoundSource> {
  const { kubectl, opts, out } = ctx
  const query: SourceQuery = { app: opts.app!, source: opts.source, namespace: opts.namespace }
  const found = await findAppSource(kubectl, query)
  const note = foundNote(found, query)
  if (note) out.note(note)
  return found
}
