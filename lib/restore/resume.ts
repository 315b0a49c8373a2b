// What `volsync:resume` decides and says: it gives back an app held by an
// unfinished restore, as the record on its ReplicationSource describes it
// (marker.ts). Pure.
import type { Options } from '../cli.ts'
import { UsageError } from '../errors.ts'
import { restoreMarkText } from '../volsync/health.ts'
import { fluxRefText } from './flux.ts'
import type { Marker } from './marker.ts'
import { workloadRef } from './workloads.ts'

/** 'ask' on a terminal; 'skip' with YES or DRY_RUN; else refuse before any kubectl call. */
export function resumeConfirmation(opts: Pick<Options, 'yes' | 'dryRun'>, stdinIsTTY: boolean): 'ask' | 'skip' {
  if (opts.yes || opts.dryRun) return 'skip'
  if (stdinIsTTY) return 'ask'
  throw new UsageError(
    'resume starts the app on the PVC as it is (perhaps partially restored) and needs a confirmation, but ' +
      'there is no terminal to ask on. Nothing was changed. Run it with DRY_RUN=true (--dry-run) to see what ' +
      'it does, then with YES=true (--yes).',
  )
}

export interface ResumePlan {
  namespace: string
  source: string
  marker: Marker
  /** the command that restores the held snapshot completely instead */
  rerun: string
  dryRun: boolean
}

export function resumePlanText(plan: ResumePlan): string {
  const { marker: m, namespace: ns } = plan
  const { hold } = m
  const row = (label: string, value: string) => `  ${label.padEnd(13)} ${value}`
  const rows = (label: string, values: string[]) => values.map((v, i) => row(i === 0 ? label : '', v))
  const lines = [
    `${plan.dryRun ? 'Dry run: resume would do this' : 'Resume plan'} (nothing has changed yet):`,
    row('held by', restoreMarkText(m)),
    row('', m.state === 'held' ? `which stopped${m.reason ? `: ${m.reason}` : ''}` : 'which the record says is RUNNING'),
    row('stop', `ReplicationDestination ${ns}/${m.destination} (if it is still there), until no mover pod of it is left`),
    ...rows(
      'start',
      hold.workloads.filter((w) => w.replicas > 0).map((w) => `${workloadRef(w)}: back to ${w.replicas} replicas (only from 0)`),
    ),
    ...rows('unpause', hold.scaledObjects.map((s) => `scaledobject ${ns}/${s.name} (KEDA)`)),
    ...rows('resume', [...hold.cronJobs.map((c) => `cronjob ${ns}/${c.name}`), ...hold.flux.map((f) => fluxRefText(f))]),
    row(
      'backups',
      hold.paused === true
        ? `ReplicationSource ${plan.source}: paused before the restore, left paused` +
            (hold.copyTrigger.length ? `; VolSync's copies of ${m.pvc} released` : '')
        : `released: ReplicationSource ${plan.source} unpaused` + (hold.copyTrigger.length ? `, VolSync's copies of ${m.pvc} allowed again` : ''),
    ),
    row('record', `the annotation on ReplicationSource ${plan.source} is removed last`),
    '',
    `${m.pvc} may be PARTIALLY restored from snapshot ${m.snapshot.id.slice(0, 8)}: the app starts on it AS IT IS, ` +
      'and the next backup saves it. To restore it completely instead, run:',
    `  ${plan.rerun}`,
  ]
  if (m.state === 'running') {
    lines.push('The record says that restore is still RUNNING: if it is (on another machine), this stops it.')
  }
  return lines.join('\n')
}
