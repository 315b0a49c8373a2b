// The pure parts of the kubectl boundary: reading kubectl's stderr, and the
// flags every call of a run carries. (Running kubectl is tested by bats.)
import { describe, expect, it } from 'vitest'
import { OperationError } from '../../lib/cli.ts'
import { Kubectl, KubectlError, classifyFailure } from '../../lib/kubectl.ts'

describe('classifyFailure', () => {
  it.each([
    [`error: the server doesn't have a resource type "replicationsources"`, 'no-resource-type'],
    ['error: resource mapping not found for name: "x" namespace: "" from "STDIN": no matches for kind "ReplicationDestination"', 'no-resource-type'],
    ['Error from server (NotFound): pods "x" not found', 'not-found'],
    ['Error from server (NotFound): namespaces "lab" not found', 'not-found'],
    ['Error from server (Forbidden): pods is forbidden: User "u" cannot list resource "pods"', 'forbidden'],
    ['Error from server (Conflict): Operation cannot be fulfilled on replicationsources.volsync.backube "x": the object has been modified', 'conflict'],
    ['The request is invalid: the server rejected our request due to an error in our request: testing value /spec/trigger/manual failed', 'conflict'],
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
      "kubectl --kubeconfig $'/k/my config' delete pod x -n business",
    )
  })
})
