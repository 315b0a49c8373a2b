import { describe, expect, it } from 'vitest'
import { OperationError, UsageError } from '../../../lib/errors.ts'
import { ref, type ReplicationSource } from '../../../lib/volsync/objects.ts'
import {
  foundNote,
  matchRule,
  resolveSource,
  volsyncMissing,
  type FoundSource,
  type SourceQuery,
  type SourceRule,
} from '../../../lib/volsync/sources.ts'

const NOW = new Date('2026-11-26T12:00:00Z')
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString().replace(/\.000Z$/, 'Z')
const H = 3_600_000

const SAVED_LOG = [
  'repository 9f3a2b1c opened (version 2, compression level auto)',
  'using parent snapshot 4b1e6f2a',
  'Added to the repository: 1.234 MiB (402.118 KiB stored)',
  'processed 1532 files, 812.331 MiB in 0:04',
  'snapshot 7c2d9e41 saved',
  'Restic completed in 7s',
].join('\n')

/** A healthy source: scheduled, synced 2h ago, next sync in 6h. */
function source(overrides: { spec?: Partial<ReplicationSource['spec']>; status?: ReplicationSource['status'] } = {}): ReplicationSource {
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationSource',
    metadata: { name: 'odoo-backup', namespace: 'business' },
    spec: {
      sourcePVC: 'odoo-data',
      trigger: { schedule: '0 */8 * * *' },
      restic: { repository: 'volsync-r2-secret' },
      ...overrides.spec,
    },
    status: overrides.status ?? {
      lastSyncTime: ago(2 * H),
      lastSyncDuration: '1m3.202331847s',
      nextSyncTime: new Date(NOW.getTime() + 6 * H).toISOString(),
      conditions: [
        { type: 'Synchronizing', status: 'False', reason: 'WaitingForSchedule', message: 'Waiting for next scheduled synchronization' },
      ],
      latestMoverStatus: { result: 'Successful', logs: SAVED_LOG },
    },
  }
}

const named = (namespace: string, name = 'odoo-backup', extra: { pvc?: string; labels?: Record<string, string> } = {}): ReplicationSource => ({
  ...source(),
  metadata: { name, namespace, ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: { ...source().spec, sourcePVC: extra.pvc ?? `${name}-pvc` },
})

/** What a resolution ends in: the namespace/name and rule found, or the error's class and message. */
function outcome(candidates: ReplicationSource[], query: SourceQuery, existing?: string[]): string {
  try {
    const found = resolveSource(candidates, query, 'apps', existing)
    return `${ref(found.source)} by ${found.rule}: ${found.how}`
  } catch (err) {
    const kind = err instanceof UsageError ? 'usage' : err instanceof OperationError ? 'failed' : 'other'
    return `${kind}: ${(err as Error).message}`
  }
}

describe('resolveSource: which ReplicationSource APP (or SOURCE) means', () => {
  const backup = named('business', 'odoo-backup', { pvc: 'odoo-data' })
  const plain = named('business', 'odoo', { pvc: 'odoo-files' })
  const labelled = named('business', 'odoo-r2', { labels: { 'app.kubernetes.io/name': 'odoo' } })
  const byData = named('business', 'odoo-local', { pvc: 'odoo-data' })
  const byPvc = named('business', 'files', { pvc: 'odoo' })
  const other = named('media', 'plex-backup', { pvc: 'plex-data' })
  const otherLabel = named('media', 'plex-r2', { labels: { 'app.kubernetes.io/name': 'plex' }, pvc: 'plex-data' })

  it.each<[string, ReplicationSource[], SourceQuery, string]>([
    ['<APP>-backup first', [other, plain, labelled, backup], { app: 'odoo' },
      'business/odoo-backup by backup-name: named odoo-backup (<APP>-backup)'],
    ['then a source named <APP>', [other, labelled, plain, byData], { app: 'odoo' },
      'business/odoo by app-name: named odoo, like the app'],
    ['then the label app.kubernetes.io/name=<APP>', [other, otherLabel, labelled], { app: 'odoo' },
      'business/odoo-r2 by label: labelled app.kubernetes.io/name=odoo'],
    ['or a sourcePVC <APP>-data', [other, byData], { app: 'odoo' }, 'business/odoo-local by pvc: its sourcePVC is odoo-data'],
    ['or a sourcePVC <APP>', [other, byPvc], { app: 'odoo' }, 'business/files by pvc: its sourcePVC is odoo'],
    ['SOURCE names it, whatever APP finds', [backup, plain, labelled], { app: 'odoo', source: 'odoo-r2' },
      'business/odoo-r2 by source: named by SOURCE=odoo-r2'],
    ['SOURCE needs no relation to APP', [backup, other], { app: 'odoo', source: 'plex-backup' },
      'media/plex-backup by source: named by SOURCE=plex-backup'],
    ['NAMESPACE narrows every rule', [named('lab', 'odoo-backup'), plain], { app: 'odoo', namespace: 'business' },
      'business/odoo by app-name: named odoo, like the app'],
    ['a name in two namespaces, NAMESPACE picks', [named('business'), named('lab')], { app: 'odoo', namespace: 'lab' },
      'lab/odoo-backup by backup-name: named odoo-backup (<APP>-backup)'],
    ['<APP>-backup wins over a second source of the app by label', [labelled, backup], { app: 'odoo' },
      'business/odoo-backup by backup-name: named odoo-backup (<APP>-backup)'],
    ['a label of another app does not count', [otherLabel, byData], { app: 'odoo' }, 'business/odoo-local by pvc: its sourcePVC is odoo-data'],
  ])('%s', (_name, candidates, query, expected) => {
    expect(outcome(candidates, query)).toBe(expected)
  })

  it('two sources of the deciding rule (<app>-r2 and <app>-local) are a usage error listing both and asking for SOURCE', () => {
    expect(outcome([other, byData, labelled], { app: 'odoo' })).toBe(
      [
        'usage: APP=odoo matches 2 ReplicationSources in cluster apps:',
        '  business/odoo-local  its sourcePVC is odoo-data',
        '  business/odoo-r2     labelled app.kubernetes.io/name=odoo',
        'Say which with SOURCE=<name> (--source).',
      ].join('\n'),
    )
  })

  it('also asks for NAMESPACE when a name of the list is in several namespaces', () => {
    const r2Lab = named('lab', 'odoo-r2', { labels: { 'app.kubernetes.io/name': 'odoo' } })
    expect(outcome([labelled, r2Lab, byData], { app: 'odoo' })).toMatch(
      /^usage: APP=odoo matches 3 ReplicationSources in cluster apps:\n(.*\n){3}Say which with SOURCE=<name> \(--source\), and NAMESPACE=<ns> \(--namespace\) where a name is in several namespaces\.$/,
    )
  })

  it.each<[string, ReplicationSource[], SourceQuery]>([
    ['<APP>-backup', [named('business'), named('lab')], { app: 'odoo' }],
    ['SOURCE', [named('business', 'odoo-r2'), named('lab', 'odoo-r2')], { app: 'odoo', source: 'odoo-r2' }],
  ])('%s in two namespaces is a usage error listing both and asking for NAMESPACE', (_name, candidates, query) => {
    const name = candidates[0]!.metadata.name
    expect(outcome(candidates, query)).toBe(
      `usage: ReplicationSource ${name} exists in 2 namespaces on cluster apps: business, lab. Say which with NAMESPACE=<ns> (--namespace).`,
    )
  })

  it('nothing found by APP names every rule tried, lists what exists, sorted, and points to SOURCE', () => {
    let error: unknown
    try {
      resolveSource([other], { app: 'wiki' }, 'apps', ['tools/git-backup', 'media/plex-backup'])
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(OperationError)
    expect(error).not.toBeInstanceOf(UsageError)
    expect((error as OperationError).message).toBe(
      'No ReplicationSource for APP=wiki in cluster apps: none is named wiki-backup or wiki, ' +
        'labelled app.kubernetes.io/name=wiki, or has sourcePVC wiki or wiki-data.',
    )
    expect((error as OperationError).details).toBe(
      'ReplicationSources that exist:\n  media/plex-backup\n  tools/git-backup\nName one with SOURCE=<name> (--source).',
    )
  })

  it.each<[string, string[] | undefined, SourceQuery, string, string]>([
    ['SOURCE not found', ['business/odoo-backup'], { app: 'odoo', source: 'odoo-r2' },
      'ReplicationSource odoo-r2 not found in cluster apps.', 'ReplicationSources that exist:\n  business/odoo-backup'],
    ['no sources at all, in NAMESPACE', [], { app: 'odoo', namespace: 'lab' },
      'No ReplicationSource for APP=odoo in namespace lab of cluster apps: none is named odoo-backup or odoo, labelled app.kubernetes.io/name=odoo, or has sourcePVC odoo or odoo-data.',
      'There are no ReplicationSources on cluster apps.'],
    ['a match in another namespace than NAMESPACE', ['business/odoo-backup'], { app: 'odoo', source: 'odoo-backup', namespace: 'lab' },
      'ReplicationSource odoo-backup not found in namespace lab of cluster apps.', 'ReplicationSources that exist:\n  business/odoo-backup'],
  ])('%s', (_name, existing, query, message, details) => {
    let error: unknown
    try {
      resolveSource([named('business')], query, 'apps', existing)
    } catch (err) {
      error = err
    }
    expect((error as OperationError).message).toBe(message)
    expect((error as OperationError).details).toBe(details)
  })
})

describe('matchRule', () => {
  it.each<[string, ReplicationSource, SourceQuery, SourceRule | undefined]>([
    ['<APP>-backup', named('x', 'odoo-backup'), { app: 'odoo' }, 'backup-name'],
    ['<APP>', named('x', 'odoo'), { app: 'odoo' }, 'app-name'],
    ['the label', named('x', 'r2', { labels: { 'app.kubernetes.io/name': 'odoo' } }), { app: 'odoo' }, 'label'],
    ['sourcePVC <APP>', named('x', 'r2', { pvc: 'odoo' }), { app: 'odoo' }, 'pvc'],
    ['sourcePVC <APP>-data', named('x', 'r2', { pvc: 'odoo-data' }), { app: 'odoo' }, 'pvc'],
    ['a prefix is not a match', named('x', 'odoo-backup-old', { pvc: 'odoo-data-old' }), { app: 'odoo' }, undefined],
    ['another label value', named('x', 'r2', { labels: { 'app.kubernetes.io/name': 'odoo2' } }), { app: 'odoo' }, undefined],
    ['with SOURCE only the name counts', named('x', 'odoo-backup'), { app: 'odoo', source: 'odoo-r2' }, undefined],
    ['outside NAMESPACE', named('x', 'odoo-backup'), { app: 'odoo', namespace: 'y' }, undefined],
  ])('%s -> %s', (_name, rs, query, rule) => {
    expect(matchRule(rs, query)).toBe(rule)
  })
})

describe('foundNote', () => {
  const found = (rule: SourceRule, how: string): FoundSource => ({ source: named('business', 'odoo-r2'), rule, how })
  it.each<[SourceRule, string, string | undefined]>([
    ['source', 'named by SOURCE=odoo-r2', undefined],
    ['backup-name', 'named odoo-backup (<APP>-backup)', undefined],
    ['app-name', 'named odoo, like the app', 'APP=odoo: ReplicationSource business/odoo-r2, named odoo, like the app (there is no odoo-backup)'],
    ['label', 'labelled app.kubernetes.io/name=odoo',
      'APP=odoo: ReplicationSource business/odoo-r2, labelled app.kubernetes.io/name=odoo (there is no odoo-backup or odoo)'],
  ])('%s -> %j', (rule, how, note) => {
    expect(foundNote(found(rule, how), { app: 'odoo' })).toBe(note)
  })
})

describe('volsyncMissing', () => {
  it('says VolSync is not installed on the cluster', () => {
    const err = volsyncMissing('apps')
    expect(err.exitCode).toBe(1)
    expect(err.message).toBe(
      'VolSync is not installed on cluster apps: the API server has no replicationsources.volsync.backube resource.',
    )
    expect(err.details).toMatch(/CLUSTER \/ KUBECONFIG/)
  })
})
