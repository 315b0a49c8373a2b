import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { kubectlHint, shellQuote, taskHint } from '../../lib/hints.ts'

describe('shellQuote', () => {
  it.each([
    ['odoo-backup', 'odoo-backup'],
    ['--replicas=2', '--replicas=2'],
    ['/tmp/kube config', "'/tmp/kube config'"],
    ["it's", `'it'\\''s'`],
    ['', "''"],
    ['{"spec":{"paused":false}}', `'{"spec":{"paused":false}}'`],
    ['$(rm -rf /)', "'$(rm -rf /)'"],
  ])('%j -> %s', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted)
  })

  it('gives sh (dash/POSIX) back exactly the word', () => {
    const words = ['a b', "it's", '$HOME', '`x`', 'line\nbreak', '\\', '"', '*', '', 'ü']
    const script = `printf '%s\\0' ${words.map(shellQuote).join(' ')}`
    const out = execFileSync('sh', ['-c', script]).toString()
    expect(out.split('\0').slice(0, -1)).toEqual(words)
  })
})

describe('kubectlHint', () => {
  it('carries the run\'s kubeconfig or context first', () => {
    expect(kubectlHint({ kubeconfig: '/k/kube config' }, ['get', 'pods', '-n', 'x'])).toBe(
      "kubectl --kubeconfig '/k/kube config' get pods -n x",
    )
    expect(kubectlHint({ context: 'apps' }, ['delete', 'pod', 'p'])).toBe('kubectl --context apps delete pod p')
  })
})

describe('taskHint', () => {
  it('names the cluster, and the kubeconfig when one was given', () => {
    expect(taskHint('unlock', { APP: 'odoo', NAMESPACE: undefined }, { cluster: 'apps' })).toBe(
      'task volsync:unlock APP=odoo CLUSTER=apps',
    )
    expect(taskHint('restore', { APP: 'odoo', SNAPSHOT: '7c2d9e41' }, { cluster: 'apps', kubeconfig: '/x/kube config' })).toBe(
      "task volsync:restore APP=odoo SNAPSHOT=7c2d9e41 CLUSTER=apps KUBECONFIG='/x/kube config'",
    )
  })
})
