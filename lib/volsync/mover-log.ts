// What a VolSync restic mover log says (status.latestMoverStatus.logs or a
// mover pod's log): the snapshot saved or restored, an empty source, a new
// repository, a lock, the error lines. Pure. Facts: VolSync v0.16.0
// mover-restic/entry.sh and internal/controller/mover/restic/logfilter.go.
export interface MoverLogFacts {
  /** id from `snapshot <id> saved` (a backup that wrote a snapshot) */
  savedSnapshot?: string
  /** id from `restoring snapshot <id> of ...` (restic 0.18) or `restoring <Snapshot <id> of ...>` (older) */
  restoredSnapshot?: string
  /** the restore selected nothing: `No eligible snapshots found` / `No data will be restored` */
  nothingToRestore: boolean
  /** the backup skipped an empty source directory */
  emptySource: boolean
  /** the mover ran `restic init`: the repository did not exist before */
  initializedRepository: boolean
  /** the repository was locked */
  lockError: boolean
  /**
   * The PVC whose copy trigger VolSync gave up waiting for: VolSync itself
   * writes `Timed out waiting for copy-trigger to be modified for pvc <name>`
   * as the mover status (internal/controller/errors/errors.go, after
   * CopyTriggerWaitTimeout, 10 minutes, of volsync.backube/use-copy-trigger
   * without a new volsync.backube/copy-trigger); no mover ran.
   */
  copyTriggerTimeout?: string
  /** lines with ERROR / Fatal / a lock failure / VolSync's copy-trigger timeout */
  errorLines: string[]
  /**
   * The one line that says why the mover failed: restic's lock line when the
   * repository is locked (the mover's own last line, `ERROR: failure locking
   * repository`, says less: it names neither the holder nor the lock's age),
   * else the last error line.
   */
  errorSummary?: string
}

export function readMoverLogs(logs: string | undefined): MoverLogFacts {
  const text = logs ?? ''
  const lines = text.split('\n')
  const saved = [...text.matchAll(/^\s*snapshot ([0-9a-f]{8,64}) saved/gm)].pop()
  const restored = /^\s*restoring <?[Ss]napshot ([0-9a-f]{8,64})\b/m.exec(text)
  const errorLines = lines.filter((l) => /^\s*(ERROR|Fatal)\b|unable to create lock|^Timed out waiting for copy-trigger/.test(l)).map((l) => l.trim())
  const copyTrigger = /^Timed out waiting for copy-trigger to be modified for pvc (\S+)/m.exec(text)
  return {
    savedSnapshot: saved?.[1],
    restoredSnapshot: restored?.[1],
    nothingToRestore: /No eligible snapshots found|No data will be restored/.test(text),
    emptySource: /Directory is empty skipping backup/.test(text),
    initializedRepository: /Initialize Dir/i.test(text),
    lockError: /repository is already locked|unable to create lock|failure locking repository/i.test(text),
    copyTriggerTimeout: copyTrigger?.[1],
    errorLines,
    errorSummary: errorLines.find((l) => /unable to create lock/.test(l)) ?? errorLines.at(-1),
  }
}
