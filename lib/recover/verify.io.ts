// `verify` (verify.ts decides): for one source, or every source in scope a
// few at a time, an idle restic pod (built like the mover) with scratch
// space, in which restic runs with `kubectl exec`; the CHECK runs in a second
// container of the same pod that sees the restored data read-only. The result
// is written on the ReplicationSource (lib/volsync/verification.ts), where
// `status` reads it. The pod, and a scratch PVC when one was asked for, are
// deleted on every path.
import type { UndoStep } from '../cleanup.ts'
import type { SnapshotSelector } from '../cli.ts'
import { InterruptedError, OperationError, errorText } from '../errors.ts'
import { nameSuffix } from '../names.ts'
import type { Context } from '../run.ts'
import { moverPod } from '../snapshots/list.io.ts'
import { type PodVolume, type SideContainer } from '../snapshots/pod.ts'
import { tail, type ListedSnapshot } from '../snapshots/restic.ts'
import type { ResticSession } from '../snapshots/runner.io.ts'
import { RS, ref, type ReplicationSource } from '../volsync/objects.ts'
import { nextRecord, readVerification, recordPatch } from '../volsync/verification.ts'
import { snapshotRef } from './pick.ts'
import { chooseSnapshot, openSession } from './session.io.ts'
import {
  CHECK_MOUNT,
  RestoreStream,
  SCRATCH_MOUNT,
  checkArgv,
  deepArgs,
  expected,
  judgeDeep,
  judgeQuick,
  quickArgs,
  type CheckRun,
  type Verdict,
  type VerifyResult,
} from './verify.ts'

export interface VerifyParams {
  depth: 'quick' | 'deep'
  selector: SnapshotSelector
  check?: string
  checkImage: string
  scratchSize?: string
  scratchClass?: string
}

/** The app of a source named <app>-backup (names the pod). */
const appOf = (rs: ReplicationSource) => rs.metadata.name.replace(/-backup$/, '').slice(0, 40).replace(/-+$/, '')

/** A PVC for the scratch space, its deletion pushed first; returns the volume and the undo. */
async function scratchClaim(ctx: Context, namespace: string, app: string, params: VerifyParams): Promise<{ volume: PodVolume; undo: UndoStep }> {
  const { kubectl } = ctx
  const name = `volsync-verify-${app}`.slice(0, 56).replace(/-+$/, '') + `-${nameSuffix()}`
  const undo: UndoStep = {
    what: `delete the scratch PVC ${namespace}/${name}`,
    undo: async () => {
      await kubectl.delete('persistentvolumeclaims', name, namespace, { wait: true, timeout: '3m' })
    },
    manual: [kubectl.commandLine(['delete', 'pvc', name, '-n', namespace, '--ignore-not-found'])],
  }
  ctx.checkpoint()
  ctx.cleanup.push(undo)
  await kubectl.create({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'volsync-ops', 'app.kubernetes.io/component': 'verify-scratch', 'volsync-ops/app': app },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(params.scratchClass ? { storageClassName: params.scratchClass } : {}),
      resources: { requests: { storage: params.scratchSize } },
    },
  } as never)
  return { volume: { name: 'scratch', mountPath: SCRATCH_MOUNT, source: { persistentVolumeClaim: { claimName: name } } }, undo }
}

/** Runs the restore (and the CHECK) in the session; the verdict and its numbers. */
async function deep(ctx: Context, session: ResticSession, snapshot: ListedSnapshot, check: string | undefined): Promise<{ verdict: Verdict; stream: RestoreStream; check?: CheckRun }> {
  const stream = new RestoreStream()
  const utf8 = new TextDecoder()
  const restore = await session.exec(deepArgs(snapshot.id), (chunk) => stream.push(utf8.decode(chunk, { stream: true })))
  stream.end()
  ctx.checkpoint()
  const facts = { exitCode: restore.exitCode, stderr: restore.stderr, stream, expected: expected(snapshot) }
  const restored = judgeDeep(facts)
  if (!restored.ok || check === undefined) return { verdict: restored, stream }
  const run = await session.execText(checkArgv(check), 'check')
  ctx.checkpoint()
  const ran: CheckRun = { command: check, exitCode: run.exitCode, output: tail(`${run.stdout}${run.stderr}`, 20) }
  return { verdict: judgeDeep({ ...facts, check: ran }), stream, check: ran }
}

/**
 * Verifies one source. `failSoft`: an error that stops this source (its pod
 * cannot start, the repository cannot be listed) becomes a failed result
 * instead of ending the run (verify of many); Ctrl-C always ends it.
 */
export async function verifySource(ctx: Context, rs: ReplicationSource, params: VerifyParams, failSoft = false): Promise<VerifyResult> {
  const started = Date.now()
  const namespace = rs.metadata.namespace!
  const app = appOf(rs)
  const base = {
    namespace,
    source: rs.metadata.name,
    depth: params.depth,
    snapshot: null,
    files: null,
    bytes: null,
    expectedFiles: null,
    expectedBytes: null,
    check: null,
    details: '',
    recorded: false,
  }
  let scratch: { volume: PodVolume; undo: UndoStep } | undefined
  let session: ResticSession | undefined
  try {
    const pod = await moverPod(ctx, rs)
    const volumes: PodVolume[] = []
    const sidecars: SideContainer[] = []
    if (params.depth === 'deep') {
      scratch = params.scratchSize ? await scratchClaim(ctx, namespace, app, params) : undefined
      volumes.push(scratch?.volume ?? { name: 'scratch', mountPath: SCRATCH_MOUNT, source: { emptyDir: {} } })
      if (params.check !== undefined) {
        sidecars.push({ name: 'check', image: params.checkImage, mounts: [{ name: 'scratch', mountPath: CHECK_MOUNT, readOnly: true }], workingDir: CHECK_MOUNT })
      }
    }
    ;({ session } = await openSession(ctx, { rs, app, component: 'verify', what: 'verify', volumes, sidecars, pod }))
    const { snapshot } = await chooseSnapshot(ctx, session, pod.mover.repository)
    let verdict: Verdict
    let numbers: Pick<VerifyResult, 'files' | 'bytes' | 'check'> = { files: null, bytes: null, check: null }
    if (params.depth === 'quick') {
      const run = await session.execText(quickArgs())
      verdict = judgeQuick(run.exitCode, `${run.stdout}${run.stderr}`)
    } else {
      const out = await deep(ctx, session, snapshot, params.check)
      verdict = out.verdict
      numbers = { files: out.stream.summary?.filesRestored ?? null, bytes: out.stream.summary?.bytesRestored ?? null, check: out.check ?? null }
    }
    await session.close()
    session = undefined
    if (scratch) await ctx.cleanup.undoNow(scratch.undo)
    scratch = undefined
    const want = expected(snapshot)
    const result: VerifyResult = {
      ...base,
      ...numbers,
      snapshot: snapshotRef(snapshot),
      expectedFiles: want.files ?? null,
      expectedBytes: want.bytes ?? null,
      ok: verdict.ok,
      message: verdict.message,
      details: verdict.details,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    }
    result.recorded = await record(ctx, rs, result)
    return result
  } catch (err) {
    if (err instanceof InterruptedError || !failSoft) throw err
    return { ...base, ok: false, message: `could not verify: ${errorText(err)}`, details: err instanceof OperationError ? err.details : '', durationSeconds: Math.round((Date.now() - started) / 1000) }
  } finally {
    await session?.close()
    if (scratch) await ctx.cleanup.undoNow(scratch.undo)
  }
}

/** Writes the result on the ReplicationSource; false (and a note) when it cannot. */
async function record(ctx: Context, rs: ReplicationSource, result: VerifyResult): Promise<boolean> {
  const entry = nextRecord(readVerification(rs), {
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    snapshot: result.snapshot?.id ?? null,
    depth: result.depth,
    ok: result.ok,
    files: result.files,
    bytes: result.bytes,
    message: result.message,
  })
  try {
    await ctx.kubectl.patch(RS, rs.metadata.name, rs.metadata.namespace!, 'merge', recordPatch(entry))
    return true
  } catch (err) {
    ctx.out.warn(`could not record the verification on ${ref(rs)}: ${errorText(err)}`)
    return false
  }
}

/** Verifies every source, at most `limit` at once, in the order given; never stops early except on Ctrl-C. */
export async function verifyMany(ctx: Context, sources: readonly ReplicationSource[], params: VerifyParams, limit: number): Promise<VerifyResult[]> {
  const results: VerifyResult[] = new Array(sources.length)
  let next = 0
  const worker = async () => {
    while (next < sources.length && !ctx.signal.aborted) {
      const i = next++
      const rs = sources[i]!
      ctx.out.note(`${ref(rs)}: verifying (${params.depth})`)
      results[i] = await verifySource(ctx, rs, params, true)
      ctx.out.note(`${ref(rs)}: ${results[i]!.ok ? 'ok' : 'FAILED'}: ${results[i]!.message}`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, sources.length) }, worker))
  ctx.checkpoint()
  return results
}
