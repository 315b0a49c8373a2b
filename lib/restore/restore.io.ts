// A restore from its first change to its end: stop what could write into the
// PVC or start the app (quiesce.io.ts), create the ReplicationDestination and
// follow its sync with the sync engine (lib/sync/engine.io.ts), and end as
// lib/restore/stages.ts decides from the stage it reached. Every change pushes
// its undo before it acts, under the layer it puts back; the clean-up stack
// undoes what the ending does not keep, holding the app back while the
// restore mover may still be writing.
import type { UndoStep } from '../cleanup.ts'
import type { Context } from '../run.ts'
import type { SyncOutcome } from '../sync/engine.ts'
import { followRestore } from '../sync/engine.io.ts'
import { RD, type ReplicationDestination, type ReplicationSource } from '../volsync/objects.ts'
import type { SuspendDecision } from './flux.ts'
import { pauseSource, stopWorkload, suspendFlux, waitForClaimReleased, type RestoreHooks } from './quiesce.io.ts'
import { ending, heldBack, type Ending, type Layer, type Stage } from './stages.ts'
import type { Workload } from './workloads.ts'

export interface RestoreInput {
  source: ReplicationSource
  pvc: string
  /** the workloads that use the PVC (those with replicas are stopped) */
  workloads: readonly Workload[]
  flux: readonly SuspendDecision[]
  /** the ReplicationDestination to create (lib/restore/destination.ts), its spec.trigger.manual set */
  destination: ReplicationDestination
  keep: boolean
  /** the command that restores the same snapshot again */
  rerun: string
}

export class RestoreRun {
  private readonly ctx: Context
  private readonly input: RestoreInput
  private stage: Stage = 'quiescing'
  private destinationDeleted = false
  /** the undo steps pushed, with what each puts back */
  private readonly undos: { layer: Layer; drop: () => void }[] = []
  private readonly hooks: RestoreHooks

  constructor(ctx: Context, input: RestoreInput) {
    this.ctx = ctx
    this.input = input
    const where = { namespace: this.namespace, destination: input.destination.metadata.name, pvc: input.pvc }
    this.hooks = {
      blocked: () => heldBack(this.stage, this.destinationDeleted, where),
      pushUndo: (layer, step) => this.pushUndo(layer, step),
    }
  }

  private get namespace(): string {
    return this.input.source.metadata.namespace!
  }

  private get running(): Workload[] {
    return this.input.workloads.filter((w) => w.replicas > 0)
  }

  private pushUndo(layer: Layer, step: UndoStep): () => void {
    const drop = this.ctx.cleanup.push(step)
    this.undos.push({ layer, drop })
    return drop
  }

  /**
   * Pauses the backups (a scheduled one must not snapshot a half-restored
   * volume), suspends Flux (it would scale the app back up), stops the
   * workloads, and waits until no pod mounts the PVC.
   */
  async quiesce(): Promise<void> {
    const { ctx, hooks } = this
    await pauseSource(ctx, this.input.source, hooks)
    for (const decision of this.input.flux) {
      if (decision.action === 'suspend') await suspendFlux(ctx, decision, hooks)
    }
    for (const w of this.running) await stopWorkload(ctx, w, hooks)
    await waitForClaimReleased(ctx, this.namespace, this.input.pvc)
  }

  /**
   * Creates the ReplicationDestination and follows its sync to the end;
   * deleting it (foreground, in the clean-up) stops its mover before the app
   * starts again.
   */
  async restore(): Promise<SyncOutcome> {
    const { ctx } = this
    const { kubectl, out } = ctx
    const { name } = this.input.destination.metadata
    const namespace = this.namespace
    ctx.checkpoint()
    this.pushUndo('destination', {
      what: `delete ReplicationDestination ${namespace}/${name}`,
      undo: async () => {
        await kubectl.delete(RD, name, namespace, { wait: true, cascade: 'foreground', timeout: '5m' })
        this.destinationDeleted = true
      },
      manual: [kubectl.commandLine(['delete', RD, name, '-n', namespace, '--ignore-not-found', '--cascade=foreground'])],
    })
    this.stage = 'creating'
    out.note(`creating ReplicationDestination ${namespace}/${name}`)
    const rd = await kubectl.create<ReplicationDestination>(this.input.destination)
    this.stage = 'restoring'
    ctx.checkpoint()
    const outcome = await followRestore(ctx, rd)
    this.stage = 'restored'
    this.end()
    return outcome
  }

  /** Ends a restore that stopped (call once, from the error path): says what it leaves; pvcMayBePartial is for the report. */
  stopped(): Ending {
    return this.end()
  }

  private end(): Ending {
    const { out } = this.ctx
    const { input } = this
    const decided = ending(
      this.stage,
      {
        namespace: this.namespace,
        pvc: input.pvc,
        destination: input.destination.metadata.name,
        keep: input.keep,
        workloadsStopped: this.running.length > 0,
        rerun: input.rerun,
        deleteDestination: this.ctx.kubectl.commandLine(['delete', RD, input.destination.metadata.name, '-n', this.namespace]),
      },
    )
    for (const { layer, drop } of this.undos) if (decided.keep.includes(layer)) drop()
    for (const warning of decided.warnings) out.warn(warning)
    for (const note of decided.notes) out.note(note)
    return decided
  }
}
