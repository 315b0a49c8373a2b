// What the user sees: tables that fit the terminal (80 columns when not a
// terminal), colour only on a TTY and never with NO_COLOR, times and ages,
// a progress line, and JSON mode (JSON alone on stdout, everything else on
// stderr). The formatting functions are pure.

// ---------------------------------------------------------------- YAML

/**
 * An object as YAML text (a dry run's manifests). The yaml package is loaded
 * here, on first use, and kept out of the script bundles (bin/run.mjs): a
 * specifier esbuild cannot see is left to Node, which finds node_modules/yaml
 * (bundled, its 260 KB cost every restore run ~50 ms of CPU, dry run or not).
 */
export async function yamlText(value: unknown): Promise<string> {
  const yaml = 'yaml'
  const { stringify } = (await import(yaml)) as typeof import('yaml')
  return stringify(value).trimEnd()
}

// ---------------------------------------------------------------- colour

/** Colour on a terminal only, and never when NO_COLOR is set (no-color.org). */
export function colorEnabled(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return Boolean(isTTY) && !env.NO_COLOR
}

export interface Paint {
  red(s: string): string
  yellow(s: string): string
  green(s: string): string
  bold(s: string): string
  dim(s: string): string
}

export function painter(enabled: boolean): Paint {
  const sgr = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s)
  return { red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39), bold: sgr(1, 22), dim: sgr(2, 22) }
}

// ---------------------------------------------------------------- tables

export type Tone = 'red' | 'yellow' | 'green' | 'dim' | 'bold'
export type Cell = string | { text: string; tone?: Tone }

export interface Column {
  header: string
  align?: 'left' | 'right'
  /** narrowest width this column may be cut to ("…"); absent: never cut */
  min?: number
  /** may be left out when the table is too wide; higher goes first */
  drop?: number
}

const cellText = (c: Cell) => (typeof c === 'string' ? c : c.text)

/** Cuts s to width w, marking the cut with "…". */
export function truncate(s: string, w: number): string {
  return s.length <= w ? s : w <= 1 ? s.slice(0, w) : s.slice(0, w - 1) + '…'
}

/** Column widths that fit `width`: the widest cuttable column gives way first. */
export function fitWidths(columns: readonly Column[], natural: readonly number[], width: number): number[] {
  const widths = [...natural]
  let excess = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) - width
  while (excess > 0) {
    let widest = -1
    for (let i = 0; i < widths.length; i++) {
      const min = columns[i]!.min
      if (min === undefined || widths[i]! <= min) continue
      if (widest < 0 || widths[i]! > widths[widest]!) widest = i
    }
    if (widest < 0) break
    widths[widest]!--
    excess--
  }
  return widths
}

export interface Table {
  text: string
  /** headers of the columns left out to fit the width */
  hidden: string[]
}

/**
 * A table that fits `width`: droppable columns are left out first (highest
 * `drop` first), then cuttable columns are cut with "…".
 */
export function renderTable(columns: readonly Column[], rows: readonly Cell[][], width: number, paint: Paint): Table {
  const natural = columns.map((col, i) => Math.max(col.header.length, ...rows.map((r) => cellText(r[i] ?? '').length)))
  const total = (idx: number[]) => idx.reduce((a, i) => a + natural[i]!, 0) + 2 * (idx.length - 1)
  let shown = columns.map((_, i) => i)
  const droppable = shown.filter((i) => columns[i]!.drop !== undefined).sort((a, b) => columns[b]!.drop! - columns[a]!.drop!)
  for (const i of droppable) {
    if (total(shown) <= width) break
    shown = shown.filter((j) => j !== i)
  }
  const widths = fitWidths(
    shown.map((i) => columns[i]!),
    shown.map((i) => natural[i]!),
    width,
  )
  const line = (cells: readonly Cell[], header: boolean) =>
    shown
      .map((i, k) => {
        const col = columns[i]!
        const cell = cells[i] ?? ''
        const text = truncate(cellText(cell), widths[k]!)
        const padded = col.align === 'right' ? text.padStart(widths[k]!) : text.padEnd(widths[k]!)
        const tone = header ? 'bold' : typeof cell === 'string' ? undefined : cell.tone
        return tone ? paint[tone](padded) : padded
      })
      .join('  ')
      .trimEnd()
  return {
    text: [line(columns.map((c) => c.header), true), ...rows.map((r) => line(r, false))].join('\n'),
    hidden: columns.filter((_, i) => !shown.includes(i)).map((c) => c.header),
  }
}

// ---------------------------------------------------------------- time

/** A compact age or duration: 45s, 3m12s, 2h5m, 3d4h. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return m % 60 ? `${h}h${m % 60}m` : `${h}h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`
}

export const pad2 = (n: number) => String(n).padStart(2, '0')

/** "2026-11-26 04:00" in UTC, or in the local time zone. */
export function formatTime(date: Date, zone: 'utc' | 'local'): string {
  const utc = zone === 'utc'
  const y = utc ? date.getUTCFullYear() : date.getFullYear()
  const mo = (utc ? date.getUTCMonth() : date.getMonth()) + 1
  const d = utc ? date.getUTCDate() : date.getDate()
  const h = utc ? date.getUTCHours() : date.getHours()
  const mi = utc ? date.getUTCMinutes() : date.getMinutes()
  return `${y}-${pad2(mo)}-${pad2(d)} ${pad2(h)}:${pad2(mi)}`
}

/** "2h5m ago" / "in 3h" relative to now. */
export function relative(date: Date, now: Date): string {
  const ms = date.getTime() - now.getTime()
  return ms >= 0 ? `in ${formatAge(ms)}` : `${formatAge(-ms)} ago`
}

/** Bytes in at most 5 characters, as `du -h` prints them: 512B, 1.2K, 123M, 1.5G. */
export function formatBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  if (i === 0) return `${v}B`
  // round up as du does; rounding may carry into the next precision or unit
  const tenths = Math.ceil(v * 10) / 10
  if (tenths < 10) return `${tenths.toFixed(1)}${units[i]}`
  const whole = Math.ceil(v)
  if (whole >= 1024 && i < units.length - 1) return `1.0${units[i + 1]}`
  return `${whole}${units[i]}`
}

// ---------------------------------------------------------------- streams

/** The terminal's width; when not a terminal, $COLUMNS if set, else 80. */
export function outputWidth(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv): number {
  if (stream.isTTY && stream.columns) return stream.columns
  const columns = Number(env.COLUMNS)
  return Number.isInteger(columns) && columns >= 40 ? columns : 80
}

interface Stream {
  write(s: string): unknown
  isTTY?: boolean
  columns?: number
}

/**
 * One progress line on stderr. On a terminal it is redrawn in place with the
 * elapsed time; otherwise a line is printed only when the text changes.
 */
export class Progress {
  private text = ''
  private readonly started = Date.now()
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly stream: Stream
  private readonly label: string
  constructor(stream: Stream, label: string) {
    this.stream = stream
    this.label = label
  }

  update(text: string): void {
    if (text === this.text) return
    this.text = text
    if (this.stream.isTTY) {
      this.draw()
      this.timer ??= setInterval(() => this.draw(), 1000)
      this.timer.unref?.()
    } else {
      this.stream.write(`${this.label}: ${text} (${formatAge(Date.now() - this.started)})\n`)
    }
  }

  private draw(): void {
    // cut the text, never the elapsed time
    const elapsed = ` · ${formatAge(Date.now() - this.started)}`
    const room = (this.stream.columns ?? 80) - 1 - elapsed.length
    this.stream.write(`\r\x1b[K${truncate(`${this.label}: ${this.text}`, Math.max(room, 1))}${elapsed}`)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if (this.stream.isTTY && this.text) this.stream.write('\r\x1b[K')
    this.text = ''
  }
}

/**
 * Where output goes. Results (tables, summaries) go to stdout; notes,
 * warnings, progress and errors go to stderr. In JSON mode stdout carries
 * the JSON document and nothing else.
 */
export class Output {
  readonly json: boolean
  readonly paint: Paint
  readonly errPaint: Paint
  readonly width: number
  readonly stdout: Stream
  readonly stderr: Stream
  constructor(opts: { json: boolean; stdout: Stream; stderr: Stream; env: NodeJS.ProcessEnv }) {
    this.json = opts.json
    this.stdout = opts.stdout
    this.stderr = opts.stderr
    this.paint = painter(!opts.json && colorEnabled(opts.stdout.isTTY, opts.env))
    this.errPaint = painter(colorEnabled(opts.stderr.isTTY, opts.env))
    this.width = outputWidth(opts.stdout, opts.env)
  }

  /** A result line (table mode only; ignored in JSON mode). */
  result(text: string): void {
    if (!this.json) this.stdout.write(text + '\n')
  }

  /** A result line that JSON mode still shows, on stderr (stdout carries the document). */
  log(text: string): void {
    ;(this.json ? this.stderr : this.stdout).write(text + '\n')
  }

  /** The JSON document (JSON mode only). */
  data(value: unknown): void {
    if (this.json) this.stdout.write(JSON.stringify(value, null, 2) + '\n')
  }

  note(text: string): void {
    this.stderr.write(text + '\n')
  }

  warn(text: string): void {
    this.stderr.write(this.errPaint.yellow(`warning: ${text}`) + '\n')
  }

  error(text: string): void {
    this.stderr.write(this.errPaint.red(`error: ${text}`) + '\n')
  }

  progress(label: string): Progress {
    return new Progress(this.stderr, label)
  }
}

/** The line under a table that had to leave columns out (two lines when one would be wider than `width`). */
export function hiddenNote(table: Table, width = Infinity): string {
  if (!table.hidden.length) return ''
  const what = `(${table.hidden.join(', ')} left out to fit:`
  const how = 'widen the terminal or use OUTPUT=json)'
  return what.length + 1 + how.length <= width ? `${what} ${how}` : `${what}\n ${how}`
}
