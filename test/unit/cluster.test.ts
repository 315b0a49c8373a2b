import path from 'node:path'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { describe, expect, it, vi } from 'vitest'
import {
  REPO_ROOT,
  findCluster,
  fleetNames,
  kubeconfigDir,
  resolveCluster,
  type ClusterFacts,
  type FleetFacts,
  type FleetNames,
} from '../../lib/cluster.ts'
import { UsageError } from '../../lib/errors.ts'

const base: ClusterFacts = {
  cluster: 'apps',
  explicitKubeconfig: undefined,
  explicitExists: false,
  clusterFile: '/repo/kubeconfig-apps',
  clusterFileExists: false,
  defaultContexts: [],
}

describe('resolveCluster', () => {
  it.each<[string, Partial<ClusterFacts>, object]>([
    [
      '1. an explicit kubeconfig wins over everything',
      { explicitKubeconfig: '/k/x', explicitExists: true, clusterFileExists: true, defaultContexts: ['apps'] },
      { name: 'apps', kubeconfig: '/k/x', how: 'kubeconfig /k/x (given explicitly)' },
    ],
    [
      '2. else <root>/kubeconfig-<cluster>, even when a context of that name exists',
      { clusterFileExists: true, defaultContexts: ['apps'] },
      { name: 'apps', kubeconfig: '/repo/kubeconfig-apps', how: 'kubeconfig /repo/kubeconfig-apps' },
    ],
    [
      '3. else the context named <cluster> in the default kubeconfig',
      { defaultContexts: ['infra', 'apps'] },
      { name: 'apps', context: 'apps', how: 'context apps of the default kubeconfig' },
    ],
  ])('%s', (_name, facts, expected) => {
    expect(resolveCluster({ ...base, ...facts })).toEqual(expected)
  })

  it('an explicit kubeconfig that does not exist is an error, not a fall-through', () => {
    const facts = { ...base, explicitKubeconfig: '/k/missing', clusterFileExists: true }
    expect(() => resolveCluster(facts)).toThrow(UsageError)
    expect(() => resolveCluster(facts)).toThrow('KUBECONFIG (--kubeconfig) /k/missing: no such file')
  })

  it('a context must match exactly', () => {
    expect(() => resolveCluster({ ...base, defaultContexts: ['apps-old', 'my-apps'] })).toThrow(UsageError)
  })

  it.each<[string[], string]>([
    [[], 'none'],
    [['infra', 'lab'], 'infra, lab'],
  ])('none of the three is an exit-2 error naming all three (contexts %j)', (contexts, listed) => {
    let error: unknown
    try {
      resolveCluster({ ...base, defaultContexts: contexts })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(UsageError)
    expect((error as Error).message).toBe(
      [
        'cannot find cluster apps. Tried, in order:',
        '  1. KUBECONFIG=<file> / --kubeconfig <file>: not given',
        '  2. /repo/kubeconfig-apps: no such file',
        `  3. a context named apps in the default kubeconfig: not there (contexts: ${listed})`,
        'Give KUBECONFIG=<file>, create /repo/kubeconfig-apps, or pick another CLUSTER.',
      ].join('\n'),
    )
  })
})

describe('kubeconfigDir', () => {
  it.each<[NodeJS.ProcessEnv, string]>([
    [{}, REPO_ROOT],
    [{ VOLSYNC_OPS_ROOT: '' }, REPO_ROOT],
    [{ VOLSYNC_OPS_ROOT: '/elsewhere' }, '/elsewhere'],
  ])('%j -> %s', (env, dir) => {
    expect(kubeconfigDir(env)).toBe(dir)
  })

  it('the repository root is the directory above lib/', () => {
    expect(path.basename(path.join(REPO_ROOT, 'lib'))).toBe('lib')
    expect(REPO_ROOT).toBe(path.resolve(import.meta.dirname, '../..'))
  })
})

describe('findCluster', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'volsync-ops cluster '))
  writeFileSync(path.join(dir, 'kubeconfig-apps'), 'apiVersion: v1\nkind: Config\n')
  writeFileSync(path.join(dir, 'explicit'), 'apiVersion: v1\nkind: Config\n')
  const env = { VOLSYNC_OPS_ROOT: dir }

  it('reads the default contexts only when neither file applies', async () => {
    const contexts = vi.fn(async () => ['lab'])
    await expect(findCluster('apps', undefined, env, contexts)).resolves.toMatchObject({
      kubeconfig: path.join(dir, 'kubeconfig-apps'),
    })
    await expect(findCluster('apps', path.join(dir, 'explicit'), env, contexts)).resolves.toMatchObject({
      kubeconfig: path.join(dir, 'explicit'),
    })
    expect(contexts).not.toHaveBeenCalled()
    await expect(findCluster('lab', undefined, env, contexts)).resolves.toEqual({
      name: 'lab',
      context: 'lab',
      how: 'context lab of the default kubeconfig',
    })
    expect(contexts).toHaveBeenCalledOnce()
  })

  it('checks that an explicit kubeconfig exists', async () => {
    await expect(findCluster('apps', path.join(dir, 'nope'), env, async () => [])).rejects.toThrow(/no such file/)
  })
})

describe('fleetNames: every cluster CLUSTER=all reads', () => {
  const facts = (files: string[], config?: unknown): FleetFacts => ({ dir: '/repo', files, config })

  it.each<[string, FleetFacts, FleetNames]>([
    ['each kubeconfig-<name>, sorted; other files are not clusters',
      facts(['kubeconfig-lab', 'README.md', 'kubeconfig-apps', 'lib']), { names: ['apps', 'lab'], ignored: [] }],
    ['plus the contexts of the config file, each once',
      facts(['kubeconfig-apps', 'volsync-ops.yaml'], { clusters: ['edge', 'apps'] }), { names: ['apps', 'edge'], ignored: [] }],
    ['the config file alone', facts(['volsync-ops.yaml'], { clusters: ['edge'] }), { names: ['edge'], ignored: [] }],
    ['a config file without clusters (other settings)', facts(['kubeconfig-apps'], { other: 1 }), { names: ['apps'], ignored: [] }],
    ['an empty config file', facts(['kubeconfig-apps'], null), { names: ['apps'], ignored: [] }],
    ['kubeconfig-* files that no CLUSTER can name are ignored, and said',
      facts(['kubeconfig-apps', 'kubeconfig-apps.bak', 'kubeconfig-all', 'kubeconfig-Prod']),
      { names: ['apps'], ignored: ['kubeconfig-Prod', 'kubeconfig-all', 'kubeconfig-apps.bak'] }],
  ])('%s', (_name, input, expected) => {
    expect(fleetNames(input)).toEqual(expected)
  })

  it.each<[string, FleetFacts, RegExp]>([
    ['nothing known', facts(['README.md']),
      /^CLUSTER=all: this repository knows no cluster\. Looked for kubeconfig-<name> files in \/repo and a clusters list in \/repo\/volsync-ops\.yaml/],
    ['clusters is not a list', facts([], { clusters: 'apps' }), /^\/repo\/volsync-ops\.yaml: clusters must be a list of context names/],
    ['the file is a list', facts([], ['apps']), /^\/repo\/volsync-ops\.yaml: expected a mapping with a clusters list/],
    ['an entry that is no cluster name', facts([], { clusters: ['apps', 'arn:aws:eks:x'] }),
      /^\/repo\/volsync-ops\.yaml: clusters entry "arn:aws:eks:x" is not a cluster name/],
    ['an entry that is not a string', facts([], { clusters: [{ name: 'apps' }] }), /clusters entry \{"name":"apps"\} is not a cluster name/],
    ['"all"', facts([], { clusters: ['all'] }), /clusters entry "all" is not a cluster name/],
  ])('%s is a usage error', (_name, input, message) => {
    expect(() => fleetNames(input)).toThrow(UsageError)
    expect(() => fleetNames(input)).toThrow(message)
  })

  it('CLUSTER=all resolves to no single cluster: a placeholder that names no kubeconfig and no context', async () => {
    const contexts = vi.fn(async () => ['all'])
    await expect(findCluster('all', undefined, {}, contexts)).resolves.toEqual({
      name: 'all', how: 'every cluster this repository knows', fleet: true,
    })
    expect(contexts).not.toHaveBeenCalled()
  })
})
