// CLUSTER=all (lib/fleet.ts): which clusters, each resolved as CLUSTER=<name>
// would be; a per-cluster step on all of them, each with its own Kubectl.
import path from 'node:path'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { describe, expect, it, vi } from 'vitest'
import { UsageError } from '../../lib/errors.ts'
import { clusterSummaryLines, eachCluster, findFleet, fleetTotalLine, keyedByCluster, type ClusterResult, type FleetMember } from '../../lib/fleet.ts'
import { Kubectl, KubectlError } from '../../lib/kubectl.ts'
import { painter } from '../../lib/output.ts'

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'volsync-ops fleet '))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}
const KUBECONFIG = 'apiVersion: v1\nkind: Config\n'

describe('findFleet', () => {
  it('resolves each cluster as CLUSTER=<name> would: its kubeconfig file, else its context', async () => {
    const dir = repo({ 'kubeconfig-apps': KUBECONFIG, 'kubeconfig-lab': KUBECONFIG, 'volsync-ops.yaml': 'clusters:\n  - edge\n  - gone\n  - lab\n' })
    const contexts = vi.fn(async () => ['edge', 'other'])
    const fleet = await findFleet({ VOLSYNC_OPS_ROOT: dir }, contexts)
    expect(fleet.members).toEqual([
      { name: 'apps', target: { name: 'apps', kubeconfig: path.join(dir, 'kubeconfig-apps'), how: `kubeconfig ${path.join(dir, 'kubeconfig-apps')}` } },
      { name: 'edge', target: { name: 'edge', context: 'edge', how: 'context edge of the default kubeconfig' } },
      { name: 'gone', problem: `no ${path.join(dir, 'kubeconfig-gone')}, and no context gone in the default kubeconfig (named in ${path.join(dir, 'volsync-ops.yaml')})` },
      { name: 'lab', target: { name: 'lab', kubeconfig: path.join(dir, 'kubeconfig-lab'), how: `kubeconfig ${path.join(dir, 'kubeconfig-lab')}` } },
    ])
    expect(contexts).toHaveBeenCalledOnce()
    expect(fleet.notes).toEqual([])
  })

  it('reads no contexts when every cluster has its kubeconfig file, and notes the files it ignores', async () => {
    const dir = repo({ 'kubeconfig-apps': KUBECONFIG, 'kubeconfig-apps.old': KUBECONFIG })
    const contexts = vi.fn(async () => [])
    const fleet = await findFleet({ VOLSYNC_OPS_ROOT: dir }, contexts)
    expect(fleet.members.map((m) => m.name)).toEqual(['apps'])
    expect(contexts).not.toHaveBeenCalled()
    expect(fleet.notes).toEqual([`ignored ${path.join(dir, 'kubeconfig-apps.old')}: "apps.old" is not a cluster name`])
  })

  it('a config file that is not YAML is a usage error naming it', async () => {
    const dir = repo({ 'volsync-ops.yaml': 'clusters: [apps\n' })
    await expect(findFleet({ VOLSYNC_OPS_ROOT: dir }, async () => [])).rejects.toThrow(UsageError)
    await expect(findFleet({ VOLSYNC_OPS_ROOT: dir }, async () => [])).rejects.toThrow(`${path.join(dir, 'volsync-ops.yaml')} is not valid YAML`)
  })
})

describe('eachCluster', () => {
  const member = (name: string): FleetMember => ({ name, target: { name, kubeconfig: `/k/${name}`, how: `kubeconfig /k/${name}` } })

  it("runs the step with each cluster's own Kubectl, in parallel, keeping the members' order; a failure is that cluster's result only", async () => {
    const seen: string[] = []
    let running = 0
    let most = 0
    const results = await eachCluster(
      [member('apps'), member('down'), { name: 'gone', problem: 'no such context' }, member('lab'), member('slow')],
      async (kubectl: Kubectl, target) => {
        expect(kubectl.targetFlags).toEqual(['--kubeconfig', `/k/${target.name}`])
        running++
        most = Math.max(most, running)
        await new Promise((r) => setTimeout(r, target.name === 'slow' ? 30 : 5))
        running--
        seen.push(target.name)
        if (target.name === 'down') {
          throw new KubectlError(['get', '--raw', '/x'], 'E1126 07:30:28.43 1643 memcache.go:265] noise\nThe connection to the server 127.0.0.1:1 was refused\n', 1)
        }
        return target.name.length
      },
      { concurrency: 2 },
    )
    expect(results).toEqual([
      { cluster: 'apps', how: 'kubeconfig /k/apps', ok: true, value: 4 },
      { cluster: 'down', how: 'kubeconfig /k/down', ok: false, error: 'The connection to the server 127.0.0.1:1 was refused' },
      { cluster: 'gone', ok: false, error: 'no such context' },
      { cluster: 'lab', how: 'kubeconfig /k/lab', ok: true, value: 3 },
      { cluster: 'slow', how: 'kubeconfig /k/slow', ok: true, value: 4 },
    ])
    expect(most).toBe(2)
    expect(seen.sort()).toEqual(['apps', 'down', 'lab', 'slow'])
  })

  it('the Kubectl of CLUSTER=all itself refuses every call: it has no cluster', async () => {
    const fleet = new Kubectl({ name: 'all', how: 'every cluster this repository knows', fleet: true })
    await expect(fleet.run(['get', 'pods'])).rejects.toThrow(/CLUSTER=all is every cluster: this step needs the Kubectl of one cluster/)
  })
})

describe('reporting CLUSTER=all', () => {
  const results: ClusterResult<number[]>[] = [
    { cluster: 'apps', how: 'kubeconfig /k/apps', ok: true, value: [1, 2] },
    { cluster: 'production', how: 'kubeconfig /k/production', ok: false, error: 'The connection to the server 127.0.0.1:1 was refused' },
    { cluster: 'lab', ok: true, value: [] },
  ]
  const sum = (v: number[]) => (v.length ? `${v.length} things` : 'nothing')

  it('one summary line per cluster, names aligned, NOT READ with the reason (red)', () => {
    expect(clusterSummaryLines(results, sum, painter(false))).toEqual([
      'apps:       2 things',
      'production: NOT READ: The connection to the server 127.0.0.1:1 was refused',
      'lab:        nothing',
    ])
    expect(clusterSummaryLines(results, sum, painter(true))[1]).toBe('\x1b[31mproduction: NOT READ: The connection to the server 127.0.0.1:1 was refused\x1b[39m')
  })

  it.each<[string, ClusterResult<number[]>[], string | undefined, string]>([
    ['all read', [results[0]!, results[2]!], undefined, '2 clusters: 2 things'],
    ['one not read', results, undefined, '3 clusters: 2 things, 1 not read'],
    ['one cluster, a namespace', [results[0]!], 'business', '1 cluster: 2 things (namespace business)'],
  ])('the fleet line: %s', (_, r, namespace, line) => {
    expect(fleetTotalLine(r, '2 things', painter(false), namespace)).toBe(line)
  })

  it('the JSON is keyed by cluster, in the fleet order; a cluster not read has only how, read and error', () => {
    const json = keyedByCluster(results, (v) => ({ count: v.length, values: v }))
    expect(Object.keys(json)).toEqual(['apps', 'production', 'lab'])
    expect(json).toEqual({
      apps: { how: 'kubeconfig /k/apps', read: true, error: null, count: 2, values: [1, 2] },
      production: { how: 'kubeconfig /k/production', read: false, error: 'The connection to the server 127.0.0.1:1 was refused' },
      lab: { how: null, read: true, error: null, count: 0, values: [] },
    })
  })
})
