import { describe, expect, it } from 'vitest'
import { parseArgs, type CommandSpec } from '../../../lib/cli.ts'
import {
  GRANTS,
  controllerFinding,
  crdFinding,
  doctorExitCode,
  doctorText,
  eventFindings,
  fleetCountsText,
  fleetDoctorExitCode,
  fleetFindingsText,
  imageFinding,
  pullFailure,
  type ClusterFindings,
  failedMoverFindings,
  fluxNamespaces,
  moverOwner,
  imageVersion,
  isVolsyncImage,
  minorOf,
  rbacFindings,
  serverFinding,
  skewFinding,
  sourceFindings,
  sourceReady,
  presenceIn,
  staleAfter,
  summaryLine,
  type Finding,
  type GrantAnswer,
  type MoverPod,
  type NamesInNamespace,
  type SourceFacts,
} from '../../../lib/doctor/findings.ts'
import { hintTarget } from '../../../lib/hints.ts'
import { painter } from '../../../lib/output.ts'
import type { ReplicationSource } from '../../../lib/volsync/objects.ts'

const NOW = new Date('2026-11-26T12:00:00Z')
const H = 3_600_000
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString()
const HINTS = hintTarget({ name: 'apps', how: 'kubeconfig-apps', kubeconfig: '/k/apps' })
const K = 'kubectl --kubeconfig /k/apps'

function source(o: { spec?: Partial<ReplicationSource['spec']>; restic?: Record<string, unknown>; status?: ReplicationSource['status'] } = {}): ReplicationSource {
  return {
    metadata: { name: 'odoo-backup', namespace: 'business' },
    spec: {
      sourcePVC: 'odoo-data',
      trigger: { schedule: '0 */8 * * *' },
      restic: { repository: 'odoo-restic', copyMethod: 'Direct', ...o.restic },
      ...o.spec,
    },
    status: o.status ?? { lastSyncTime: ago(2 * H), latestMoverStatus: { result: 'Successful', logs: 'snapshot 7c2d9e41 saved' } },
  }
}
const names = (...n: string[]) => ({ ok: true as const, value: n })
const FORBIDDEN = { ok: false as const, forbidden: true, error: 'Forbidden' }
const FINE: SourceFacts = { pvcs: names('other-data', 'odoo-data'), secrets: names('odoo-restic') }
const brief = (fs: Finding[]) => fs.map((f) => `${f.severity} ${f.check}`)

describe('the API server and kubectl', () => {
  it('reads the minor version from minor, or from gitVersion', () => {
    expect(minorOf({ minor: '35' })).toBe(35)
    expect(minorOf({ minor: '30+' })).toBe(30)
    expect(minorOf({ gitVersion: 'v1.29.3-eks' })).toBe(29)
    expect(minorOf({})).toBeUndefined()
  })

  it.each<[string, string, string]>([
    ['35', '35', 'ok'],
    ['34', '35', 'ok'],
    ['36', '35', 'ok'],
    ['33', '35', 'warning'],
    ['38', '35', 'warning'],
  ])('kubectl 1.%s against a 1.%s server: %s', (c, s, severity) => {
    const f = skewFinding({ ok: true, value: { minor: c, gitVersion: `v1.${c}.0` } }, { minor: s, gitVersion: `v1.${s}.4` })
    expect(f.severity).toBe(severity)
  })

  it('an unreachable server is an error whose fix is the command that asks it again', () => {
    const f = serverFinding({ ok: false, forbidden: false, error: 'connection refused' }, HINTS, 'apps')
    expect(f).toMatchObject({ severity: 'error', check: 'api-server', fix: expect.stringContaining(`${K} get --raw /version`) })
    expect(f.reason).toContain('connection refused')
  })
})

describe('VolSync', () => {
  it.each<[string[] | null, string]>([
    [['replicationsources', 'replicationsources/status', 'replicationdestinations'], 'ok'],
    [['replicationsources'], 'error'],
    [null, 'error'],
  ])('the CRDs %j: %s', (resources, severity) => {
    expect(crdFinding({ ok: true, value: resources }, HINTS).severity).toBe(severity)
  })

  it.each<[string, boolean, string | undefined]>([
    ['quay.io/backube/volsync:0.16.0', true, '0.16.0'],
    ['volsync:latest', true, 'latest'],
    ['registry:5000/backube/volsync@sha256:abc', true, undefined],
    ['quay.io/backube/volsync-mover:1', false, '1'],
    ['ghcr.io/x/notvolsync:1', false, '1'],
  ])('%s: VolSync %s, version %s', (image, ok, version) => {
    expect(isVolsyncImage(image)).toBe(ok)
    expect(imageVersion(image)).toBe(version)
  })

  it('finds the controller and its version; a missing one, or one that could not be read, is a warning naming the grant', () => {
    const d = (image: string, ready = 1) => ({ namespace: 'volsync-system', name: 'volsync', image, readyReplicas: ready })
    expect(controllerFinding({ ok: true, value: [d('nginx:1'), d('quay.io/backube/volsync:0.16.0')] }, HINTS)).toMatchObject({
      severity: 'ok',
      reason: expect.stringContaining('VolSync 0.16.0'),
    })
    expect(controllerFinding({ ok: true, value: [d('quay.io/backube/volsync:0.16.0', 0)] }, HINTS).severity).toBe('error')
    expect(controllerFinding({ ok: true, value: [d('nginx:1')] }, HINTS).severity).toBe('warning')
    const forbidden = controllerFinding({ ok: false, forbidden: true, error: 'Forbidden' }, HINTS)
    expect(forbidden.severity).toBe('warning')
    expect(forbidden.reason).toContain('does not grant list deployments.apps in all namespaces')
  })
})

describe('each source', () => {
  it('a healthy source is one ok finding that says what was checked', () => {
    const fs = sourceFindings(source(), FINE, NOW, HINTS)
    expect(fs).toEqual([{ severity: 'ok', check: 'source', subject: 'business/odoo-backup', reason: 'PVC odoo-data, Secret odoo-restic, last sync 2h ago', fix: null }])
  })

  it('a missing Secret is an error naming it, with the command that checks it by name only', () => {
    const [f] = sourceFindings(source(), { pvcs: names('odoo-data'), secrets: names('other') }, NOW, HINTS)
    expect(f).toMatchObject({ severity: 'error', check: 'repository-secret', subject: 'business/odoo-backup' })
    expect(f!.reason).toContain('Secret odoo-restic does not exist in namespace business')
    expect(f!.fix).toContain(`${K} get secret odoo-restic -n business -o name`)
  })

  it.each<[string, SourceFacts, string[]]>([
    ['a missing PVC', { pvcs: names('other-data'), secrets: FINE.secrets }, ['error source-pvc']],
    ['a namespace without PVCs', { pvcs: names(), secrets: FINE.secrets }, ['error source-pvc']],
    ['PVCs it may not list', { pvcs: FORBIDDEN, secrets: FINE.secrets }, ['warning source-pvc']],
    ['Secrets it may not list', { pvcs: FINE.pvcs, secrets: FORBIDDEN }, ['warning repository-secret']],
    ['a failed list', { pvcs: { ok: false, forbidden: false, error: 'timeout' }, secrets: FINE.secrets }, ['warning source-pvc']],
  ])('%s', (_, facts, expected) => {
    expect(brief(sourceFindings(source(), facts, NOW, HINTS))).toEqual(expected)
  })

  it('Secrets it may not list name the missing grant, and are never reported ok', () => {
    const fs = sourceFindings(source(), { pvcs: FINE.pvcs, secrets: FORBIDDEN }, NOW, HINTS)
    expect(fs[0]!.reason).toContain('does not grant list secrets in namespace business')
    expect(fs[0]!.fix).toBe(`${K} auth can-i list secrets -n business`)
    expect(fs.some((f) => f.severity === 'ok')).toBe(false)
    const [pvc] = sourceFindings(source(), { pvcs: FORBIDDEN, secrets: FINE.secrets }, NOW, HINTS)
    expect(pvc!.reason).toContain('does not grant list persistentvolumeclaims in namespace business')
  })

  it.each<[string, SourceFacts, boolean]>([
    ['both found', FINE, true],
    ['its PVC missing', { ...FINE, pvcs: names('other-data') }, false],
    ['its Secrets not listed', { ...FINE, secrets: FORBIDDEN }, false],
    ['nothing listed', {}, false],
  ])('a pod placed as its mover can start (the restic image check): %s: %s', (_, facts, ready) => {
    expect(sourceReady(source(), facts)).toBe(ready)
  })

  it.each<[string, NamesInNamespace | undefined, ReturnType<typeof presenceIn>]>([
    ['listed', names('a', 'odoo-data'), 'yes'],
    ['not among them', names('a'), 'no'],
    ['forbidden', FORBIDDEN, 'forbidden'],
    ['failed', { ok: false, forbidden: false, error: 'timeout' }, { error: 'timeout' }],
    ['not listed', undefined, undefined],
  ])('odoo-data among the names of its namespace, %s', (_, list, expected) => {
    expect(presenceIn(list, 'odoo-data')).toEqual(expected)
  })

  it('VolSync\'s Error condition and a failed mover are errors', () => {
    const rs = source({
      status: {
        lastSyncTime: ago(2 * H),
        conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error', message: 'unable to get volume snapshot class' }],
        latestMoverStatus: { result: 'Failed', logs: 'Fatal: wrong password or no key found' },
      },
    })
    expect(brief(sourceFindings(rs, FINE, NOW, HINTS))).toEqual(['error sync-error', 'error mover'])
  })

  it("VolSync's copy-trigger timeout is a failed mover whose fix says who holds the copy and how to release it", () => {
    const rs = source({ status: { lastSyncTime: ago(2 * H), latestMoverStatus: { result: 'Failed', logs: 'Timed out waiting for copy-trigger to be modified for pvc odoo-data' } } })
    expect(sourceFindings(rs, FINE, NOW, HINTS)).toEqual([
      {
        severity: 'error',
        check: 'mover',
        subject: 'business/odoo-backup',
        reason: 'its last mover run failed: Timed out waiting for copy-trigger to be modified for pvc odoo-data',
        fix:
          'VolSync makes no copy of PVC odoo-data while volsync.backube/use-copy-trigger is set and volsync.backube/copy-trigger does not change. ' +
          'A restore of volsync-ops sets it while it runs; if none runs, whoever set it must set a new copy-trigger, or remove it: ' +
          `${K} annotate pvc odoo-data -n business volsync.backube/use-copy-trigger-`,
      },
    ])
  })

  it('a source PVC carrying use-copy-trigger that no restore holds: a warning when set by something else, an error when a restore of this tool left it', () => {
    const copyTrigger = (copyMethod: string, value: string, extra: Partial<ReplicationSource> = {}) =>
      sourceFindings(
        { ...source({ restic: { copyMethod } }), ...extra },
        { ...FINE, snapshotClasses: { ok: true, value: [{ name: 'csi', isDefault: true }] }, copyTriggers: { 'odoo-data': value } },
        NOW,
        HINTS,
      ).filter((f) => f.check === 'copy-trigger')
    const remove = `${K} annotate pvc odoo-data -n business volsync.backube/use-copy-trigger-`
    expect(copyTrigger('Snapshot', 'db-hook')).toEqual([
      {
        severity: 'warning',
        check: 'copy-trigger',
        subject: 'business/odoo-backup',
        reason:
          'PVC odoo-data carries volsync.backube/use-copy-trigger ("db-hook"): VolSync makes the VolumeSnapshot of each backup only ' +
          'after volsync.backube/copy-trigger changes, and fails the backup after waiting 10 minutes',
        fix: `if nothing sets a new copy-trigger before each backup (a database hook, for example), remove it: ${remove}`,
      },
    ])
    expect(copyTrigger('Clone', 'held-by-volsync-ops-restore')).toEqual([
      {
        severity: 'error',
        check: 'copy-trigger',
        subject: 'business/odoo-backup',
        reason:
          'PVC odoo-data still carries volsync.backube/use-copy-trigger of a restore of volsync-ops, but no restore holds the source ' +
          '(no record): VolSync makes the clone of each backup only after volsync.backube/copy-trigger changes, and fails the backup ' +
          'after waiting 10 minutes',
        fix: `remove it: ${remove}`,
      },
    ])
    // copyMethod Direct: VolSync ignores the annotation
    expect(copyTrigger('Direct', 'db-hook')).toEqual([])
    // a restore holds the source: its record is the finding (resume removes the annotation)
    const held = { metadata: { name: 'odoo-backup', namespace: 'business', annotations: { 'volsync-ops/restore': JSON.stringify({ v: 1, state: 'held', started: '2026-11-26T04:00:00Z', by: 'ops@laptop', snapshot: { id: '7c2d9e41', time: '2026-11-25T20:00:05Z' }, destination: 'odoo-restore-1', pvc: 'odoo-data' }) } } }
    expect(copyTrigger('Snapshot', 'held-by-volsync-ops-restore', held)).toEqual([])
    // VolSync already gave up waiting: the failed mover is the finding, not twice
    const timedOut = { status: { lastSyncTime: ago(2 * H), latestMoverStatus: { result: 'Failed', logs: 'Timed out waiting for copy-trigger to be modified for pvc odoo-data' } } }
    expect(copyTrigger('Snapshot', 'db-hook', timedOut)).toEqual([])
  })

  it('a sync running over an hour is a warning naming what VolSync may wait for, by copyMethod, and the command that lists it', () => {
    const syncing = (copyMethod: string, since: number) =>
      source({ restic: { copyMethod }, status: { lastSyncTime: ago(9 * H), lastSyncStartTime: ago(since) } })
    const classes: SourceFacts = { ...FINE, snapshotClasses: { ok: true, value: [{ name: 'csi', isDefault: true }] } }
    expect(sourceFindings(syncing('Snapshot', 3 * H + 600_000), classes, NOW, HINTS)).toEqual([
      {
        severity: 'warning',
        check: 'sync-running',
        subject: 'business/odoo-backup',
        reason:
          'a sync has been running for 3h10m: a large backup can take this long; else VolSync is waiting for its VolumeSnapshot ' +
          'volsync-odoo-backup-src to be ready, its cache PVC volsync-src-odoo-backup-cache to bind or its mover to run ' +
          '(it records no event when a VolumeSnapshot or PVC does not bind)',
        fix: `${K} get volumesnapshots.snapshot.storage.k8s.io,persistentvolumeclaims,jobs,pods -n business -l app.kubernetes.io/created-by=volsync`,
      },
    ])
    const [clone] = sourceFindings(syncing('Clone', 2 * H), FINE, NOW, HINTS)
    expect(clone!.reason).toContain('waiting for its clone PVC volsync-odoo-backup-src to bind, its cache PVC')
    const [direct] = sourceFindings(syncing('Direct', 2 * H), FINE, NOW, HINTS)
    expect(direct!.reason).toContain('waiting for its cache PVC volsync-src-odoo-backup-cache to bind or its mover to run')
    expect(direct!.fix).toBe(`${K} get persistentvolumeclaims,jobs,pods -n business -l app.kubernetes.io/created-by=volsync`)
    // within the hour: only what else there is to say
    expect(brief(sourceFindings(syncing('Direct', H), FINE, NOW, HINTS))).toEqual(['ok source'])
  })

  it.each<[string, string | undefined, number]>([
    ['every 8h', '0 */8 * * *', 16 * H],
    ['hourly', '@hourly', 2 * H],
    ['daily', '0 3 * * *', 48 * H],
    ['no schedule', undefined, 48 * H],
    ['a zone that is not modelled', 'CRON_TZ=Europe/Paris 0 3 * * *', 48 * H],
  ])('a last sync is stale after two schedule periods (%s)', (_, schedule, limit) => {
    expect(staleAfter(source({ spec: { trigger: schedule ? { schedule } : {} } }), NOW)).toBe(limit)
  })

  it('a stale last sync and one never made are warnings', () => {
    const stale = source({ status: { lastSyncTime: ago(17 * H) } })
    const [f] = sourceFindings(stale, FINE, NOW, HINTS)
    expect(f).toMatchObject({ severity: 'warning', check: 'last-sync', fix: expect.stringContaining('task volsync:snapshot APP=odoo') })
    expect(brief(sourceFindings(source({ status: {} }), FINE, NOW, HINTS))).toEqual(['warning last-sync'])
  })

  const marked = (record: unknown): ReplicationSource => {
    const rs = source({ spec: { paused: true } })
    rs.metadata.annotations = { 'volsync-ops/restore': typeof record === 'string' ? record : JSON.stringify(record) }
    return rs
  }
  const RECORD = {
    v: 1,
    started: '2026-11-26T04:00:00Z',
    by: 'ops@laptop',
    snapshot: { id: '7c2d9e41b8a7f6e5', time: '2026-11-25T20:00:05Z' },
    destination: 'odoo-restore-20261126040000',
    pvc: 'odoo-data',
  }

  it('an app HELD by an unfinished restore is an error (no backup runs) whose fix is the resume command', () => {
    const fs = sourceFindings(marked({ ...RECORD, state: 'held', reason: 'the mover failed' }), FINE, NOW, HINTS)
    expect(fs).toEqual([
      {
        severity: 'error',
        check: 'restore',
        subject: 'business/odoo-backup',
        reason:
          'HELD by an unfinished restore: the restore of snapshot 7c2d9e41 started 2026-11-26 04:00:00 UTC by ops@laptop ' +
          '(ReplicationDestination odoo-restore-20261126040000) stopped (the mover failed); odoo-data may be partially restored, ' +
          'the app is stopped and no backup runs',
        fix: 'restore again, or give the app back as it is: task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps',
      },
    ])
  })

  it('a running restore is a warning (its pause is not reported again); a record that is not ours, a warning', () => {
    const [running] = sourceFindings(marked({ ...RECORD, state: 'running' }), FINE, NOW, HINTS)
    expect(running).toMatchObject({ severity: 'warning', check: 'restore', reason: expect.stringMatching(/^a restore is running: the restore of snapshot 7c2d9e41 /) })
    expect(running!.fix).toBe('if that run was killed, give the app back: task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps')
    expect(brief(sourceFindings(marked({ ...RECORD, state: 'running' }), FINE, NOW, HINTS))).toEqual(['warning restore'])
    expect(brief(sourceFindings(marked('by hand'), FINE, NOW, HINTS))).toEqual(['warning restore'])
    // without a record, a pause is the last-sync warning it was
    expect(brief(sourceFindings(source({ spec: { paused: true } }), FINE, NOW, HINTS))).toEqual(['warning last-sync'])
  })

  it.each<[string, Record<string, unknown>, SourceFacts['snapshotClasses'], string[]]>([
    ['its named class exists', { volumeSnapshotClassName: 'csi' }, { ok: true, value: [{ name: 'csi', isDefault: false }] }, ['ok source']],
    ['its named class is missing', { volumeSnapshotClassName: 'gone' }, { ok: true, value: [{ name: 'csi', isDefault: true }] }, ['error snapshot-class']],
    ['a default class exists', {}, { ok: true, value: [{ name: 'csi', isDefault: true }] }, ['ok source']],
    ['no default class', {}, { ok: true, value: [{ name: 'csi', isDefault: false }] }, ['error snapshot-class']],
    ['no snapshot API', {}, { ok: true, value: null }, ['error snapshot-class']],
    ['classes it may not list', {}, { ok: false, forbidden: true, error: 'Forbidden' }, ['warning snapshot-class']],
  ])('copyMethod Snapshot, %s', (_, restic, classes, expected) => {
    const rs = source({ restic: { copyMethod: 'Snapshot', ...restic } })
    expect(brief(sourceFindings(rs, { ...FINE, snapshotClasses: classes }, NOW, HINTS))).toEqual(expected)
  })
})

describe('RBAC', () => {
  const grant = (verb: string, resource: string) => GRANTS.find((g) => g.verb === verb && g.resource === resource && !g.cluster)!
  const answer = (verb: string, resource: string, namespace: string | null, allowed: GrantAnswer['allowed']): GrantAnswer => ({
    grant: grant(verb, resource),
    namespace,
    allowed,
  })

  it('every grant allowed: one ok finding', () => {
    const fs = rbacFindings([answer('create', 'pods', 'business', true), answer('create', 'pods', 'media', true)], HINTS)
    expect(brief(fs)).toEqual(['ok rbac'])
  })

  it('a missing grant a restore needs is an error naming it and its namespaces; one only a nicety needs, a warning', () => {
    const fs = rbacFindings(
      [
        answer('create', 'replicationdestinations.volsync.backube', 'business', false),
        answer('create', 'replicationdestinations.volsync.backube', 'media', false),
        answer('watch', 'jobs.batch', 'business', false),
        answer('get', 'replicationsources.volsync.backube', 'business', true),
      ],
      HINTS,
    )
    expect(brief(fs)).toEqual(['error rbac', 'warning rbac'])
    expect(fs[0]!.reason).toContain('does not grant create replicationdestinations.volsync.backube in namespaces business, media: needed by restore')
    expect(fs[0]!.fix).toContain(`${K} auth can-i create replicationdestinations.volsync.backube -n business`)
  })

  it("asks about Flux's objects where the sources' labels put them", () => {
    const rs = (namespace: string, labels?: Record<string, string>) => ({ metadata: { name: 'x', namespace, labels } })
    const sources = [
      rs('business', { 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system', 'helm.toolkit.fluxcd.io/namespace': 'business' }),
      rs('media', { 'kustomize.toolkit.fluxcd.io/namespace': 'clusters' }),
    ]
    expect(fluxNamespaces(sources, 'kustomization')).toEqual(['clusters', 'flux-system'])
    expect(fluxNamespaces(sources, 'helmrelease')).toEqual(['business', 'media'])
  })

  it('a question that failed is a warning, never ok', () => {
    const fs = rbacFindings([answer('create', 'pods', 'business', { error: 'timeout' })], HINTS)
    expect(brief(fs)).toEqual(['warning rbac'])
  })
})

describe('events', () => {
  const ev = (kind: string, name: string, reason: string, at: string, type = 'Warning') => ({
    type,
    reason,
    message: `${reason} happened`,
    involvedObject: { kind, name, namespace: 'business' },
    lastTimestamp: at,
  })

  it('keeps Warning events of VolSync objects within the lookback, one per object and reason', () => {
    const fs = eventFindings(
      [
        ev('ReplicationSource', 'odoo-backup', 'TransferFailed', ago(1 * H)),
        ev('ReplicationSource', 'odoo-backup', 'TransferFailed', ago(3 * H)),
        ev('ReplicationSource', 'odoo-backup', 'Old', ago(30 * H)),
        ev('ReplicationDestination', 'odoo-restore', 'NoSnapshot', ago(2 * H)),
        ev('Pod', 'x', 'BackOff', ago(1 * H)),
        ev('ReplicationSource', 'odoo-backup', 'Synced', ago(1 * H), 'Normal'),
      ],
      NOW,
      24 * H,
      HINTS,
    )
    expect(fs.map((f) => `${f.severity} ${f.subject}: ${f.reason}`)).toEqual([
      'warning ReplicationSource business/odoo-backup: TransferFailed (2 times), 1h ago: TransferFailed happened',
      'warning ReplicationDestination business/odoo-restore: NoSnapshot, 2h ago: NoSnapshot happened',
    ])
  })
})

describe('failed movers', () => {
  const pod = (name: string, job: string, phase: string, finished: string, exitCode = 1): MoverPod => ({
    metadata: { name, namespace: 'business', ownerReferences: [{ kind: 'Job', name: job }] },
    status: { phase, containerStatuses: [{ name: 'restic', state: { terminated: { exitCode, finishedAt: finished } } }] },
  })

  it.each([
    ['volsync-src-odoo-backup', 'ReplicationSource odoo-backup'],
    ['volsync-dst-odoo-restore-20261126', 'ReplicationDestination odoo-restore-20261126'],
    ['backup-x', 'Job backup-x'],
  ])('%s works for %s', (job, owner) => expect(moverOwner(job)).toBe(owner))

  it('counts the failed pods of each mover Job within the lookback, newest first', () => {
    const fs = failedMoverFindings(
      [
        pod('a1', 'volsync-src-odoo-backup', 'Failed', ago(3 * H), 1),
        pod('a2', 'volsync-src-odoo-backup', 'Failed', ago(1 * H), 3),
        pod('a3', 'volsync-src-odoo-backup', 'Failed', ago(30 * H)),
        pod('a4', 'volsync-src-odoo-backup', 'Succeeded', ago(1 * H)),
        pod('b1', 'volsync-dst-odoo-restore', 'Failed', ago(2 * H)),
      ],
      NOW,
      24 * H,
      HINTS,
    )
    expect(fs.map((f) => `${f.severity} ${f.subject}: ${f.reason} | ${f.fix}`)).toEqual([
      `warning ReplicationSource business/odoo-backup: its mover failed 2 times in the last 24h (the latest 1h ago, exit code 3) | ${K} logs a2 -n business`,
      `warning ReplicationDestination business/odoo-restore: its mover failed 1 time in the last 24h (the latest 2h ago, exit code 1) | ${K} logs b1 -n business`,
    ])
  })
})

describe('the report', () => {
  const f = (severity: Finding['severity'], check: string): Finding => ({ severity, check, subject: null, reason: 'r', fix: severity === 'ok' ? null : 'do x' })

  it('exits 1 only when there is an error', () => {
    expect(doctorExitCode([f('ok', 'a'), f('warning', 'b')])).toBe(0)
    expect(doctorExitCode([f('ok', 'a'), f('error', 'b')])).toBe(1)
  })

  it('lists errors first, each with its fix, then the summary', () => {
    const text = doctorText([f('ok', 'a'), f('warning', 'b'), f('error', 'c')], 'cluster apps', painter(false))
    expect(text.split('\n')).toEqual([
      'ERROR    c: r',
      '         fix: do x',
      'WARNING  b: r',
      '         fix: do x',
      'ok       a: r',
      '',
      '1 error, 1 warning, 1 ok (cluster apps): a backup or restore would fail',
    ])
    expect(summaryLine([f('ok', 'a')], 'cluster apps')).toBe('0 errors, 0 warnings, 1 ok (cluster apps): ready')
    expect(summaryLine([f('warning', 'a')])).toBe('0 errors, 1 warning, 0 ok: nothing stops a backup or restore; see the warnings')
  })
})

describe('CLUSTER=all', () => {
  const f = (severity: Finding['severity'], check: string, fix: string | null = null): Finding => ({ severity, check, subject: 'ns/x', reason: 'r', fix })
  const apps: ClusterFindings = { cluster: 'apps', ok: true, value: [f('ok', 'api-server'), f('warning', 'events', 'look'), f('ok', 'rbac')] }
  const production: ClusterFindings = { cluster: 'production', ok: true, value: [f('ok', 'api-server'), f('error', 'repository-secret', 'recreate it')] }
  const down: ClusterFindings = { cluster: 'lab', ok: false, error: 'The connection to the server 127.0.0.1:1 was refused' }

  it('one list with a CLUSTER column: errors first, then warnings, then ok; within a severity by cluster, then as checked', () => {
    expect(fleetFindingsText([apps, down, production], painter(false)).split('\n')).toEqual([
      'SEVERITY  CLUSTER     FINDING',
      'ERROR     production  repository-secret ns/x: r',
      '                      fix: recreate it',
      'WARNING   apps        events ns/x: r',
      '                      fix: look',
      'ok        apps        api-server ns/x: r',
      'ok        apps        rbac ns/x: r',
      'ok        production  api-server ns/x: r',
    ])
  })

  it('nothing when no cluster was read', () => {
    expect(fleetFindingsText([down], painter(false))).toBe('')
  })

  it.each<[string, ClusterFindings[], string, number]>([
    ['all ready', [apps], '0 errors, 1 warning, 2 ok', 0],
    ['an error in one cluster', [apps, production], '1 error, 1 warning, 3 ok', 1],
    ['a cluster not read (its findings count for nothing)', [apps, down], '0 errors, 1 warning, 2 ok', 1],
    ['no cluster read', [down], '0 errors, 0 warnings, 0 ok', 1],
  ])('%s: counts and exit code', (_, results, counts, code) => {
    expect(fleetCountsText(results)).toBe(counts)
    expect(fleetDoctorExitCode(results)).toBe(code)
  })
})

describe('LOOKBACK', () => {
  const spec: CommandSpec = { name: 'doctor', summary: '', flags: ['cluster', 'lookback'], examples: [] }
  it.each<[string, number]>([
    ['24h', 24 * H],
    ['3d', 72 * H],
    ['90m', 1.5 * H],
  ])('%s', (value, ms) => {
    const parsed = parseArgs(spec, ['--lookback', value])
    expect(parsed.help === false && parsed.options.lookbackMs).toBe(ms)
  })
  it('refuses what is not an age, naming LOOKBACK', () => {
    expect(() => parseArgs(spec, ['--lookback', '3'])).toThrow('LOOKBACK (--lookback) "3" is not an age')
  })
})

describe('the restic image', () => {
  it.each<[string, string | undefined]>([
    ['pod business/volsync-doctor-odoo-abcde cannot start: ErrImagePull: failed to pull image "x": not found', 'ErrImagePull: failed to pull image "x": not found'],
    ['pod ns/p cannot start: ImagePullBackOff: Back-off pulling image "x"', 'ImagePullBackOff: Back-off pulling image "x"'],
    ['pod ns/p cannot start: InvalidImageName', 'InvalidImageName'],
    ['pod ns/p cannot start: CreateContainerConfigError: secret "s" not found', undefined],
    ['timed out waiting for the doctor pod', undefined],
  ])('pullFailure(%s)', (error, reason) => {
    expect(pullFailure(error)).toBe(reason)
  })

  const image = 'mirror.example/restic:0.18.1'
  it.each<[string, Parameters<typeof imageFinding>[3], Finding['severity'], RegExp]>([
    ['ran', { kind: 'ran', log: 'restic 0.18.1 compiled with go1.24.4 on linux/amd64\n' }, 'ok', /^pulled and ran in namespace business, placed as the mover of business\/odoo-backup: restic 0\.18\.1 compiled/],
    ['not pullable', { kind: 'not-pullable', reason: 'ErrImagePull: not found' }, 'error', /^the restic image cannot be pulled in namespace business \(ErrImagePull: not found\)/],
    ['forbidden', { kind: 'forbidden', error: 'Forbidden' }, 'warning', /not checked: your RBAC does not grant create pods in namespace business$/],
    ['another failure: never ok', { kind: 'failed', error: 'CreateContainerConfigError' }, 'warning', /not checked: its pod in namespace business did not run: CreateContainerConfigError$/],
  ])('%s', (_, probe, severity, reason) => {
    const f = imageFinding(image, 'business/odoo-backup', 'business', probe, HINTS)
    expect(f.severity).toBe(severity)
    expect(f.check).toBe('restic-image')
    expect(f.subject).toBe(image)
    expect(f.reason).toMatch(reason)
    if (severity === 'error') expect(f.fix).toContain(`${K} run restic-pull-test -n business --rm -i --restart=Never --image=${image} -- version`)
  })
})
