import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Pod } from '../../../lib/pods.ts'
import { DryRunStream, NonFiles, dryRunArgs, previewAccess, previewText, type PreviewClaim } from '../../../lib/recover/preview.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures')
// restic 0.18.1: `ls --json` of a snapshot, and `restore --dry-run --delete -vv --json` of it into a PVC that has drifted
const LS = readFileSync(path.join(FIXTURES, 'restic-ls-all.jsonl'), 'utf8')
const DRY = readFileSync(path.join(FIXTURES, 'restic-restore-dry-run.jsonl'), 'utf8')

const pod = (name: string, phase: string, node?: string, labels?: Record<string, string>): Pod => ({
  metadata: { name, namespace: 'business', labels },
  spec: { nodeName: node, volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'odoo-data' } }], tolerations: [{ key: 'k', operator: 'Exists' }] },
  status: { phase: phase as 'Running' },
})
const claim = (modes: string[]): PreviewClaim => ({ status: { accessModes: modes, phase: 'Bound' } })

describe('previewAccess: where a pod may mount the PVC read-only beside the app', () => {
  it.each<[string, PreviewClaim | null, Pod[], unknown]>([
    ['RWO in use: on the node of the running pod, with its tolerations', claim(['ReadWriteOnce']), [pod('odoo-1', 'Running', 'n2')], { ok: true, placement: { nodeName: 'n2', tolerations: [{ key: 'k', operator: 'Exists' }], from: 'business/odoo-1' } }],
    ['RWO unused: anywhere', claim(['ReadWriteOnce']), [], { ok: true }],
    ['RWO held by a finished pod only: anywhere', claim(['ReadWriteOnce']), [pod('job-1', 'Succeeded', 'n2')], { ok: true }],
    ["RWO: VolSync's movers and our pods do not count", claim(['ReadWriteOnce']), [pod('m', 'Running', 'n3', { 'app.kubernetes.io/created-by': 'volsync' })], { ok: true }],
    ['RWX: anywhere', claim(['ReadWriteMany']), [pod('odoo-1', 'Running', 'n2')], { ok: true }],
    ['ROX: anywhere', claim(['ReadOnlyMany']), [pod('odoo-1', 'Running', 'n2')], { ok: true }],
    ['RWOP in use: no', claim(['ReadWriteOncePod']), [pod('odoo-1', 'Running', 'n2')], { ok: false, reason: 'odoo-data is ReadWriteOncePod and pod odoo-1 has it: no second pod may mount it' }],
    ['RWOP unused: anywhere', claim(['ReadWriteOncePod']), [], { ok: true }],
    ['no PVC', null, [], { ok: false, reason: 'the PVC odoo-data does not exist' }],
    ['modes from the spec while Pending', { spec: { accessModes: ['ReadWriteMany'] } }, [pod('odoo-1', 'Running', 'n2')], { ok: true }],
  ])('%s', (_name, c, pods, expected) => {
    expect(previewAccess(c, pods, 'odoo-data')).toEqual(expected)
  })
})

describe("reading restic's dry run", () => {
  const nonFiles = () => {
    const n = new NonFiles()
    n.push(LS)
    n.end()
    return n.paths
  }

  it('knows which items of the snapshot are not files', () => {
    expect([...nonFiles()].sort()).toEqual(['link', 'sub', 'sub/deeper'])
  })

  it('counts files added and replaced (not directories or links, which restic always "restores"), paths deleted, files unchanged', () => {
    const s = new DryRunStream(nonFiles())
    // in pieces, as a stream arrives
    for (let i = 0; i < DRY.length; i += 37) s.push(DRY.slice(i, i + 37))
    s.end()
    expect(s.summarySeen).toBe(true)
    expect(s.changes).toEqual({
      add: { count: 1, first: ['sub/b.bin'] },
      replace: { count: 1, first: ['a.txt'] },
      delete: { count: 3, first: ['extra', 'xdir/q', 'xdir'] },
      unchanged: 2,
    })
  })

  it('keeps the first 5 paths of each kind and counts the rest', () => {
    const s = new DryRunStream(new Set())
    for (let i = 0; i < 8; i++) s.push(`{"message_type":"verbose_status","action":"deleted","item":"/data/f${i}","size":0}\n`)
    s.end()
    expect(s.changes.delete).toEqual({ count: 8, first: ['f0', 'f1', 'f2', 'f3', 'f4'] })
    expect(previewText({ compared: true, pvc: 'b/x', snapshot: 'a'.repeat(64), ...s.changes })).toContain(
      '  delete     8 path(s) not in the snapshot: f0, f1, f2, f3, f4, ... (3 more)',
    )
  })

  it('the dry run restores into /data, as the mover does, with --delete, and writes nothing', () => {
    expect(dryRunArgs('abc')).toEqual(['restic', 'restore', 'abc', '--target', '/data', '--dry-run', '--delete', '-vv', '--json', '--no-lock', '--no-cache'])
  })

  it('a skipped preview says why and that the dry run goes on', () => {
    expect(previewText({ compared: false, pvc: 'b/x', reason: 'x is ReadWriteOncePod' })).toBe(
      '\nPreview of the changes skipped: x is ReadWriteOncePod. The dry run goes on without it.',
    )
  })
})
