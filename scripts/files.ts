// task volsync:files APP=<app> CLUSTER=<cluster> [SNAPSHOT=] [DIR=/some/dir]
// The entries of one directory of a snapshot, without restoring anything.
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT } from '../lib/errors.ts'
import { taskHint } from '../lib/hints.ts'
import { hiddenNote } from '../lib/output.ts'
import { filesTable, parseListing } from '../lib/recover/files.ts'
import { snapshotRef } from '../lib/recover/pick.ts'
import { chooseSnapshot, openSession, resticText } from '../lib/recover/session.io.ts'
import { snapshotText } from '../lib/restore/plan.ts'
import { runCommand } from '../lib/run.ts'
import { resticImage } from '../lib/snapshots/pod.ts'
import { ref } from '../lib/volsync/objects.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'files',
  summary: 'list the files of one directory of a snapshot, without restoring anything',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'snapshot', 'dir', 'timeout', 'source'],
  required: ['app'],
  defaultTimeout: '10m',
  checkEnv: (env) => void resticImage(env),
  notes: [
    'Paths are those of the PVC as the app sees it, from its root: the VolSync mover backs up the PVC (mounted',
    'at /data) as ".", so DIR=/ is the PVC root and DIR=/media its media directory. DIR is refused before',
    'anything runs when it holds "." or ".." components, control characters (a newline) or glob characters.',
    'SNAPSHOT: as for restore (empty = the latest; N = PREV of list; an RFC 3339 time), or any snapshot id.',
    '',
    "Runs one restic pod in the app's namespace, built like the VolSync mover from the ReplicationSource",
    '(the repository Secret as environment, never read by this tool; customCA; moverPodLabels, moverAffinity,',
    "the app pod's node and tolerations with copyMethod Direct; moverSecurityContext, restricted). It idles",
    'until this tool runs `restic snapshots` and then `restic ls --json` in it with `kubectl exec` (needs',
    'create on pods/exec), and is deleted afterwards, also on failure, timeout and Ctrl-C; it stops by itself',
    'after TIMEOUT plus one minute. RESTIC_IMAGE sets its image (as for list).',
    '',
    'Exit 1 when the snapshot has no such directory, or DIR is a file (download it instead).',
    '',
    'JSON: {cluster, source, snapshot: {id, shortId, time}, dir, entries: [{name, path, type (file, dir,',
    'symlink, ...), size, mtime, permissions, uid, gid}]}; path is relative to the PVC root.',
  ],
  examples: [
    'task -x volsync:files APP=odoo CLUSTER=apps',
    'task -x volsync:files APP=odoo CLUSTER=apps SNAPSHOT=1 DIR=/filestore/odoo',
    "task -x volsync:files APP=odoo CLUSTER=apps DIR=addons OUTPUT=json | jq -r '.entries[] | select(.type == \"file\") | .path'",
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const app = opts.app!
  const { source: rs } = await findSource(ctx)
  const { session, pod } = await openSession(ctx, { rs, app, component: 'files', what: 'files' })
  let listing, snapshot
  try {
    ;({ snapshot } = await chooseSnapshot(ctx, session, pod.mover.repository))
    const output = await resticText(
      session,
      ['ls', '--json', '--no-lock', '--no-cache', snapshot.id, opts.dir],
      `restic could not list ${opts.dir} of snapshot ${snapshot.short_id}`,
    )
    listing = parseListing(output, opts.dir, snapshot.short_id)
  } finally {
    await session.close()
  }
  const dir = `/${listing.dir}`
  out.data({ cluster: opts.cluster, source: ref(rs), snapshot: snapshotRef(snapshot), dir, entries: listing.entries })
  out.result(`${dir} in snapshot ${snapshotText(snapshot, new Date())} of ${ref(rs)}:`)
  if (listing.entries.length === 0) {
    out.result('(empty directory)')
    return EXIT.OK
  }
  const table = filesTable(listing, out.width, out.paint)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table))
  const example = listing.entries.find((e) => e.type === 'file') ?? listing.entries[0]!
  const download = taskHint(
    'download',
    { APP: app, NAMESPACE: rs.metadata.namespace, SNAPSHOT: snapshot.short_id, FILE: `/${example.path}`, TO: './' },
    ctx.hints.task,
  )
  out.result(`\n${listing.entries.length} entr${listing.entries.length === 1 ? 'y' : 'ies'}. Download one with:\n  ${download}`)
  return EXIT.OK
})
