// task volsync:download APP=<app> CLUSTER=<cluster> [SNAPSHOT=] FILE=<path> TO=<local path> [FORCE=true]
// A file or directory of a snapshot to this machine, byte for byte, checked by SHA-256.
import type { CommandSpec } from '../lib/cli.ts'
import { checkDownloadFlags, download } from '../lib/recover/download.io.ts'
import { runCommand } from '../lib/run.ts'
import { resticImage } from '../lib/snapshots/pod.ts'

const spec: CommandSpec = {
  name: 'download',
  summary: 'copy a file or directory out of a snapshot to this machine, byte for byte, checked by SHA-256',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'snapshot', 'file', 'to', 'force', 'timeout', 'source'],
  required: ['app', 'file', 'to'],
  defaultTimeout: '1h',
  checkEnv: (env) => void resticImage(env),
  validate: (opts) => checkDownloadFlags(opts),
  notes: [
    'FILE is a path of the PVC as the app sees it, from its root (/app.conf, media/2026), as volsync:files shows',
    'it; values with "." or ".." components, control characters or glob characters are refused (exit 2).',
    'SNAPSHOT: as for files (empty = the latest; N = PREV of list; an RFC 3339 time; any snapshot id).',
    '',
    'TO: a file arrives at TO, or at TO/<its name> when TO ends in / or is a directory. A directory arrives as',
    "restic's tar archive at TO, or unpacked under TO/ when TO ends in / (entries keep their paths from the PVC",
    'root: FILE=/media TO=./out/ gives ./out/media/...; permission bits and times kept, never written outside',
    'TO or through a symbolic link, devices and fifos skipped). An existing file is never overwritten without',
    "FORCE=true (checked before anything runs, and again for every entry before the first is written). TO's",
    'directory must exist (a TO ending in / is made in it). Through task, a relative TO is from where task runs.',
    '',
    'Transport: `restic dump` runs in an idle restic pod (built like the mover, as for files) with `kubectl',
    "exec`, whose stdout is a byte stream: pod logs are not binary-safe and the kubelet truncates them. In the",
    'pod the same bytes go through sha256sum (restic reads the repository once); the bytes land in a hidden',
    'partial file beside the destination, which becomes the destination only when the SHA-256 of the local',
    "file equals the pod's. Any failure, a cut stream, a mismatch, TIMEOUT or Ctrl-C removes the partial file",
    'and deletes the pod. Needs create on pods/exec. A progress line is shown on a terminal.',
    '',
    'JSON: {cluster, source, snapshot: {id, shortId, time}, file, type, bytes, sha256, verified, to, unpacked,',
    'entries: {files, dirs, symlinks, skipped} when unpacked, else null}.',
  ],
  examples: [
    'task -x volsync:download APP=odoo CLUSTER=apps FILE=/odoo.conf TO=./odoo.conf',
    'task -x volsync:download APP=odoo CLUSTER=apps SNAPSHOT=7c2d9e41 FILE=/filestore/odoo TO=./recovered/',
    'task -x volsync:download APP=odoo CLUSTER=apps FILE=/filestore TO=./filestore.tar FORCE=true OUTPUT=json',
  ],
}

await runCommand(spec, download)
