// VolSync's objects as this tool reads them: resource names, the shapes of
// ReplicationSource and ReplicationDestination (VolSync v0.16.0
// api/v1alpha1), and small pure readers over them.
import type { ApiResource, KubeObject } from '../kubectl.ts'

export const RS = 'replicationsources.volsync.backube'

/** ReplicationSources as raw API paths name them (lists are read raw: lib/kubectl.ts pages). */
export const RS_API: ApiResource = { group: 'volsync.backube', version: 'v1alpha1', plural: 'replicationsources' }

export const RD = 'replicationdestinations.volsync.backube'

/**
 * The PVC annotation that makes VolSync (copyMethod Snapshot or Clone) wait,
 * before each copy, until volsync.backube/copy-trigger changes; it gives up
 * after 10 minutes with a failed mover status (volumehandler.go
 * waitForCopyTriggerBeforeCloneOrSnap). copyMethod Direct ignores it.
 */
export const USE_COPY_TRIGGER = 'volsync.backube/use-copy-trigger'

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

export const syncCondition = (o: { status?: SyncStatus }) =>
  o.status?.conditions?.find((c) => c.type === 'Synchronizing')
