// VolSync objects and pure readers over them: which source an app means,
// what its mover logs say, and whether a source needs attention.
// Facts: shared/volsync-contract.md (VolSync v0.16.0).
import { OperationError, UsageError } from './cli.ts'
import type { KubeObject } from './kubectl.ts'
import { parseGoDuration } from './output.ts'

export const RS = 'replicationsources.volsync.backube'
export const RD = 'replicationdestinations.volsync.backube'

export interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
  lastTransitionTime?: string
}

export interface MoverStatus {
  result?: 'Successful' | 'Failed' | string
  logs?: string
}

export interface PodSecurityContext {
  runAsUser?: number
  runAsGroup?: number
  runAsNonRoot?: boolean
  fsGroup?: number
  supplementalGroups?: number[]
  seccompProfile?: { type: string; localhostProfile?: string }
  [key: string]: unknown
}

export interface SyncStatus {
  lastSyncTime?: string
  lastSyncStartTime?: string
  lastSyncDuration?: string
  nextSyncTime?: string
  lastManualSync?: string
  conditions?: Condition[]
  latestMoverStatus?: MoverStatus
}

export interface ReplicationSource extends KubeObject {
  spec: {
    sourcePVC?: string
    paused?: boolean
    trigger?: { schedule?: string; manual?: string }
    restic?: {
      repository?: string
      unlock?: string
      copyMethod?: string
      moverSecurityContext?: PodSecurityContext
      [key: string]: unknown
    }
    [key: string]: unknown
  }
  status?: SyncStatus & { restic?: { lastPruned?: string; lastUnlocked?: string } }
}

export interface ReplicationDestination extends KubeObject {
  spec: {
    trigger?: { schedule?: string; manual?: string }
    restic?: Record<string, unknown>
  }
  status?: SyncStatus
}

/** The ReplicationSource of an app in this project's clusters (story 7.1). */
export const backupName = (app: string) => `${app}-backup`

export const ref = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`

// ---------------------------------------------------------------- discovery

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

// ---------------------------------------------------------------- mover logs

export interface MoverLogFacts {
  /** id from `snapshot <id> saved` (a backup that wrote a snapshot) */
  savedSnapshot?: string
  /** id from `restoring snapshot <id> of ...` (restic 0.18) or `restoring <Snapshot <id> of ...>` (older) */
  restoredSnapshot?: string
  /** the restore selected nothing: `No eligible snapshots found` / `No data will be restored` */
  nothingToRestore: boolean
  /** the backup skipped an empty source directory */
  emptySource: boolean
  /** the mover ran `restic init`: the repository did not exist before */
  initializedRepository: boolean
  /** the repository was locked */
  lockError: boolean
  /** lines with ERROR / Fatal / a lock failure */
  errorLines: string[]
  /**
   * The one line that says why the mover failed: restic's lock line when the
   * repository is locked (the mover's own last line, `ERROR: failure locking
   * repository`, says less: it names neither the holder nor the lock's age),
   * else the last error line.
   */
  errorSummary?: string
}

export function readMoverLogs(logs: string | undefined): MoverLogFacts {
  const text = logs ?? ''
  const lines = text.split('\n')
  const saved = [...text.matchAll(/^\s*snapshot ([0-9a-f]{8,64}) saved/gm)].pop()
  const restored = /^\s*restoring <?[Ss]napshot ([0-9a-f]{8,64})\b/m.exec(text)
  const errorLines = lines.filter((l) => /^\s*(ERROR|Fatal)\b|unable to create lock/.test(l)).map((l) => l.trim())
  return {
    savedSnapshot: saved?.[1],
    restoredSnapshot: restored?.[1],
    nothingToRestore: /No eligible snapshots found|No data will be restored/.test(text),
    emptySource: /Directory is empty skipping backup/.test(text),
    initializedRepository: /Initialize Dir/i.test(text),
    lockError: /repository is already locked|unable to create lock|failure locking repository/i.test(text),
    errorLines,
    errorSummary: errorLines.find((l) => /unable to create lock/.test(l)) ?? errorLines.at(-1),
  }
}

// ---------------------------------------------------------------- health

export const syncCondition = (o: { status?: SyncStatus }) =>
  o.status?.conditions?.find((c) => c.type === 'Synchronizing')

/** A next sync this late counts as overdue. */
export const OVERDUE_GRACE_MS = 60 * 60 * 1000

/** Why a source needs attention; empty when healthy. */
export function attentionReasons(rs: ReplicationSource, now: Date): string[] {
  const reasons: string[] = []
  const status = rs.status ?? {}
  const cond = syncCondition(rs)
  const facts = readMoverLogs(status.latestMoverStatus?.logs)
  const schedule = rs.spec?.trigger?.schedule
  const manual = rs.spec?.trigger?.manual

  if (rs.spec?.paused) reasons.push('paused: no backups run until spec.paused is removed')
  if (status.latestMoverStatus?.result === 'Failed') {
    const why = facts.errorSummary
    reasons.push(`last mover run failed${why ? `: ${why}` : ''}`)
  }
  if (cond?.reason === 'Error') reasons.push(`error: ${cond.message ?? 'no message'}`)
  if (manual !== undefined && schedule) {
    reasons.push(`manual trigger left set (${JSON.stringify(manual)}): the schedule ${schedule} is ignored`)
  } else if (!schedule) {
    reasons.push('no schedule: backups run only when triggered by hand')
  }
  const next = status.nextSyncTime ? Date.parse(status.nextSyncTime) : NaN
  if (!Number.isNaN(next) && now.getTime() - next > OVERDUE_GRACE_MS) {
    reasons.push(
      status.lastSyncStartTime
        ? `overdue: the sync that started ${status.lastSyncStartTime} is still running`
        : `overdue: the next sync was due at ${status.nextSyncTime}`,
    )
  }
  if (!status.lastSyncTime && !status.lastSyncStartTime) reasons.push('has never synced')
  if (facts.lockError) reasons.push('the repository is locked: run task volsync:unlock')
  return reasons
}

/** Everything `status` shows about one source. */
export interface SourceSummary {
  namespace: string
  name: string
  sourcePVC: string | null
  schedule: string | null
  manual: string | null
  lastSyncTime: string | null
  lastSyncDurationSeconds: number | null
  nextSyncTime: string | null
  syncing: boolean
  result: string | null
  latestSnapshot: string | null
  state: string | null
  stateMessage: string | null
  healthy: boolean
  attention: string[]
}

export function summarizeSource(rs: ReplicationSource, now: Date): SourceSummary {
  const status = rs.status ?? {}
  const cond = syncCondition(rs)
  const duration = parseGoDuration(status.lastSyncDuration)
  const attention = attentionReasons(rs, now)
  return {
    namespace: rs.metadata.namespace ?? '',
    name: rs.metadata.name,
    sourcePVC: rs.spec?.sourcePVC ?? null,
    schedule: rs.spec?.trigger?.schedule ?? null,
    manual: rs.spec?.trigger?.manual ?? null,
    lastSyncTime: status.lastSyncTime ?? null,
    lastSyncDurationSeconds: duration === undefined ? null : Math.round(duration / 1000),
    nextSyncTime: status.nextSyncTime ?? null,
    syncing: Boolean(status.lastSyncStartTime),
    result: status.latestMoverStatus?.result ?? null,
    latestSnapshot: readMoverLogs(status.latestMoverStatus?.logs).savedSnapshot ?? null,
    state: cond?.reason ?? null,
    stateMessage: cond?.message ?? null,
    healthy: attention.length === 0,
    attention,
  }
}

// ---------------------------------------------------------------- pausing

/** Pauses a source: VolSync starts no sync (and stops a running mover) while spec.paused is true. */
export const pausePatch = { spec: { paused: true } }

/**
 * Unpauses, only while it is still paused (the `test` op): put back what was
 * there, an explicit false or no field at all.
 */
export function unpausePatch(pausedWasSet: boolean): unknown[] {
  return [
    { op: 'test', path: '/spec/paused', value: true },
    pausedWasSet ? { op: 'replace', path: '/spec/paused', value: false } : { op: 'remove', path: '/spec/paused' },
  ]
}
