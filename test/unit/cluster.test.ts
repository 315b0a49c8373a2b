import path from 'node:path'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { describe, expect, it, vi } from 'vitest'
import { REPO_ROOT, findCluster, kubeconfigDir, resolveCluster, type ClusterFacts } from '../../lib/cluster.ts'
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
