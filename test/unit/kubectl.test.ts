// The pure parts of the kubectl boundary: reading kubectl's stderr, and the
// flags every call of a run carries (running kubectl is tested by bats), and
// one fake kubectl for what goes to its stdin.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OperationError } from '../../lib/errors.ts'
import { Kubectl, KubectlError, PAGE_SIZE, classifyFailure, collectionPath, stderrText } from '../../lib/kubectl.ts'

describe('classifyFailure', () => {
  it.each([
    [`error: the server doesn't have a resource type "replicationsources"`, 'no-resource-type'],
    ['error: resource mapping not found for name: "x" namespace: "" from "STDIN": no matches for kind "ReplicationDestination"', 'no-resource-type'],
    ['Error from server (NotFound): pods "x" not found', 'not-found'],
    ['Error from server (NotFound): namespaces "lab" not found', 'not-found'],
    ['Error from server (Forbidden): pods is forbidden: User "u" cannot list resource "pods"', 'forbidden'],
    ['Error from server (Conflict): Operation cannot be fulfilled on replicationsources.volsync.backube "x": the object has been modified', 'conflict'],
    ['The request is invalid: the server rejected our request due to an error in our request: testing value /spec/trigger/manual failed', 'conflict'],
    // what kube-apiserver 1.35 answers to a JSON patch whose test op fails (recorded: test/fixtures/kubectl-patch-test-failed.stderr)
    [readFileSync(new URL('../fixtures/kubectl-patch-test-failed.stderr', import.meta.url), 'utf8'), 'conflict'],
    // a schema error is not a refused patch
    ['The ReplicationSource "p-backup" is invalid: spec.trigger.manual: Invalid value: "integer": spec.trigger.manual in body must be of type string: "integer"', 'other'],
    ['Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout', 'unreachable'],
    ['The connection to the server localhost:8080 was refused - did you specify the right host or port?', 'unreachable'],
    ['error: unexpected EOF', 'unreachable'],
    ['error: something else', 'other'],
    ['', 'other'],
  ])('%j -> %s', (stderr, kind) => {
    expect(classifyFailure(stderr)).toBe(kind)
  })
})

describe('KubectlError', () => {
  it('carries the command, kubectl’s stderr and the kind of failure; exit code 1', () => {
    const err = new KubectlError(['get', 'pod', 'x'], 'Error from server (NotFound): pods "x" not found\n', 1)
    expect(err).toBeInstanceOf(OperationError)
    expect(err.exitCode).toBe(1)
    expect(err.message).toBe('kubectl get pod x failed: Error from server (NotFound): pods "x" not found')
    expect(err.failure).toBe('not-found')
  })

  it('says the exit code when kubectl printed nothing', () => {
    expect(new KubectlError(['version'], '  ', 3).message).toBe('kubectl version failed: exit code 3')
  })
})

// what kubectl 1.35 prints when the API server is down (recorded by the e2e tier)
const REFUSED = [
  ...Array.from({ length: 5 }, (_, i) =>
    `E1126 07:30:28.43${i}829    1643 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: ` +
    `Get \\"https://127.0.0.1:37640/api?timeout=32s\\": dial tcp 127.0.0.1:37640: connect: connection refused"`,
  ),
  'The connection to the server 127.0.0.1:37640 was refused - did you specify the right host or port?',
  '',
].join('\n')

describe('stderrText', () => {
  it.each([
    ['klog noise before kubectl\'s verdict: the verdict alone', REFUSED,
      'The connection to the server 127.0.0.1:37640 was refused - did you specify the right host or port?'],
    ['only klog lines: kept, each once', 'W0101 00:00:00.000001       7 loader.go:1] x\nW0101 00:00:00.000001       7 loader.go:1] x\n',
      'W0101 00:00:00.000001       7 loader.go:1] x'],
    ['an ordinary error: as it is', 'Error from server (NotFound): pods "x" not found\n', 'Error from server (NotFound): pods "x" not found'],
    ['two different lines: both', 'error: one\nerror: two', 'error: one\nerror: two'],
    ['nothing', ' \n', ''],
  ])('%s', (_name, stderr, text) => {
    expect(stderrText(stderr)).toBe(text)
  })

  it('KubectlError keeps the whole stderr for classifying, the message reads short', () => {
    const err = new KubectlError(['get', 'x'], REFUSED, 1)
    expect(err.message).toBe(
      'kubectl get x failed: The connection to the server 127.0.0.1:37640 was refused - did you specify the right host or port?',
    )
    expect(err.stderr).toBe(REFUSED)
    expect(err.failure).toBe('unreachable')
  })
})

describe('Kubectl target flags', () => {
  it.each([
    [{ name: 'apps', kubeconfig: '/k/my config', how: '' }, ['--kubeconfig', '/k/my config']],
    [{ name: 'apps', context: 'apps', how: '' }, ['--context', 'apps']],
    [{ name: 'apps', how: '' }, []],
  ])('%j -> %j', (target, flags) => {
    expect(new Kubectl(target).targetFlags).toEqual(flags)
  })

  it('copy-pasteable command lines quote what needs quoting', () => {
    const k = new Kubectl({ name: 'apps', kubeconfig: '/k/my config', how: '' })
    expect(k.commandLine(['delete', 'pod', 'x', '-n', 'business'])).toBe(
      "kubectl --kubeconfig '/k/my config' delete pod x -n business",
    )
  })
})

describe('collectionPath: the raw API path of a list', () => {
  const RS = { group: 'volsync.backube', version: 'v1alpha1', plural: 'replicationsources' }
  it.each<[string, Parameters<typeof collectionPath>, string]>([
    ['every namespace', [RS, { allNamespaces: true }, { limit: '1000' }], '/apis/volsync.backube/v1alpha1/replicationsources?limit=1000'],
    ['one namespace', [RS, { namespace: 'business' }, { limit: '1000' }], '/apis/volsync.backube/v1alpha1/namespaces/business/replicationsources?limit=1000'],
    ['the core group', [{ group: '', version: 'v1', plural: 'pods' }, { namespace: 'b' }, {}], '/api/v1/namespaces/b/pods'],
    ['values URL-encoded, empty and undefined ones left out',
      [RS, { allNamespaces: true }, { labelSelector: 'app.kubernetes.io/name=odoo', fieldSelector: undefined, limit: '1000', continue: 'a+b/c=' }],
      '/apis/volsync.backube/v1alpha1/replicationsources?labelSelector=app.kubernetes.io%2Fname%3Dodoo&limit=1000&continue=a%2Bb%2Fc%3D'],
    ['an empty continue token ends nothing by itself', [RS, { allNamespaces: true }, { limit: '2', continue: '' }], '/apis/volsync.backube/v1alpha1/replicationsources?limit=2'],
  ])('%s', (_name, args, expected) => {
    expect(collectionPath(...args)).toBe(expected)
  })

  it('pages at 1,000 objects a request (one kubectl process for 1,000 sources)', () => {
    expect(PAGE_SIZE).toBe(1000)
  })
})

describe('Kubectl input', () => {
  it('a kubectl that ends without reading its input fails with its own error, not an EPIPE that ends the run', async () => {
    const { mkdtempSync, writeFileSync, chmodSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const path = await import('node:path')
    const dir = mkdtempSync(path.join(tmpdir(), 'kubectl-epipe-'))
    const bin = path.join(dir, 'kubectl')
    // fails at once, as kubectl does on a bad flag or kubeconfig, before reading stdin
    writeFileSync(bin, '#!/bin/sh\necho "error: unknown flag: --nope" >&2\nexit 1\n')
    chmodSync(bin, 0o755)
    const k = new Kubectl({ name: 'apps', kubeconfig: path.join(dir, 'kubeconfig'), how: '' }, bin)
    // more than a pipe holds (64 KiB): the write cannot finish before kubectl has ended
    const input = JSON.stringify({ data: 'x'.repeat(1 << 20) })
    const err = await k.run(['create', '-f', '-'], { input }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KubectlError)
    expect((err as KubectlError).message).toBe('kubectl create -f - failed: error: unknown flag: --nope')
  })
})
