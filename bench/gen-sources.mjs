#!/usr/bin/env node
// Writes a `kubectl get replicationsources -o json` answer with N sources,
// shaped like the recorded test/fixtures/rs-odoo.json item, a tenth of them
// needing attention (failed, manual trigger left, overdue).
// usage: node bench/gen-sources.mjs N > file.json         the List kubectl get -o json prints
//        node bench/gen-sources.mjs N --from K > file.json  only sources K..N-1 (to add to a cluster)
//        node bench/gen-sources.mjs N --pages PREFIX        the API server's pages of 1000 (a raw
//                                                           list read): PREFIX.0, PREFIX.1, ... each
//                                                           naming the next with continue "p<K>"
import { writeFileSync } from 'node:fs'

const n = Number(process.argv[2] ?? 2000)
const opt = (name) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const from = Number(opt('--from') ?? 0)
const pages = opt('--pages')
const now = Date.now()
const iso = (ms) => new Date(now + ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const H = 3_600_000
const items = []
for (let i = from; i < n; i++) {
  const app = `app-${String(i).padStart(5, '0')}`
  const kind = i % 10
  items.push({
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationSource',
    metadata: {
      creationTimestamp: '2026-10-01T10:00:00Z',
      generation: 2,
      labels: { 'kustomize.toolkit.fluxcd.io/name': app, 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' },
      name: `${app}-backup`,
      namespace: `ns-${i % 50}`,
      resourceVersion: String(400000 + i),
      uid: `7f0c2d4e-5b1a-4c3e-9d8f-${String(i).padStart(12, '0')}`,
    },
    spec: {
      sourcePVC: `${app}-data`,
      trigger: kind === 1 ? { schedule: '0 */8 * * *', manual: 'snapshot-20261120T101500Z' } : { schedule: '0 */8 * * *' },
      restic: {
        copyMethod: 'Snapshot',
        moverSecurityContext: { fsGroup: 1000, runAsGroup: 1000, runAsUser: 1000 },
        pruneIntervalDays: 7,
        repository: 'volsync-r2-secret',
        retain: { daily: 7, hourly: 24 },
        storageClassName: 'ceph-block',
        volumeSnapshotClassName: 'csi-ceph-blockpool',
      },
    },
    status: {
      conditions: [
        {
          lastTransitionTime: iso(-2 * H),
          message: 'Waiting for next scheduled synchronization',
          reason: 'WaitingForSchedule',
          status: 'False',
          type: 'Synchronizing',
        },
      ],
      lastSyncDuration: '1m3.202331847s',
      lastSyncTime: iso(-2 * H - i * 1000),
      latestMoverStatus:
        kind === 2
          ? { result: 'Failed', logs: 'Fatal: wrong password or no key found\nERROR: failure connecting to repository, incorrect password' }
          : {
              result: 'Successful',
              logs: `repository 9f3a2b1c opened (version 2, compression level auto)\nusing parent snapshot 4b1e6f2a\nAdded to the repository: 1.234 MiB (402.118 KiB stored)\nprocessed 1532 files, 812.331 MiB in 0:04\nsnapshot ${(0x7c2d9e41 + i).toString(16)} saved\nRestic completed in 7s`,
            },
      ...(kind === 1 ? {} : { nextSyncTime: kind === 3 ? iso(-3 * H) : iso(6 * H) }),
      restic: { lastPruned: iso(-72 * H) },
    },
  })
}
if (pages) {
  const size = 1000
  for (let p = 0; p * size < Math.max(items.length, 1); p++) {
    const next = (p + 1) * size < items.length ? `p${p + 1}` : ''
    const page = { apiVersion: 'volsync.backube/v1alpha1', items: items.slice(p * size, (p + 1) * size), kind: 'ReplicationSourceList', metadata: { continue: next, resourceVersion: '4711' } }
    writeFileSync(`${pages}.${p}`, JSON.stringify(page))
  }
} else {
  process.stdout.write(JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4))
}
