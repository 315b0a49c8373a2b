// `kubectl get --watch -o json` prints one pretty-printed JSON document per
// change, back to back. This splits such a stream into documents, whatever
// the chunk boundaries. Pure: feed text, get parsed values.

export class JsonStreamSplitter {
  private buffer = ''
  private depth = 0
  private inString = false
  private escaped = false
  private start = -1
  private scanned = 0

  /** Feed a chunk; returns every document completed by it. */
  push(chunk: string): unknown[] {
    this.buffer += chunk
    const docs: unknown[] = []
    for (let i = this.scanned; i < this.buffer.length; i++) {
      const c = this.buffer[i]
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === '\\') this.escaped = true
        else if (c === '"') this.inString = false
        continue
      }
      if (c === '"') {
        this.inString = true
      } else if (c === '{' || c === '[') {
        if (this.depth === 0) this.start = i
        this.depth++
      } else if (c === '}' || c === ']') {
        this.depth--
        if (this.depth === 0) {
          docs.push(JSON.parse(this.buffer.slice(this.start, i + 1)))
          this.buffer = this.buffer.slice(i + 1)
          i = -1
          this.start = -1
        } else if (this.depth < 0) {
          throw new Error(`unexpected ${JSON.stringify(c)} in JSON stream`)
        }
      } else if (this.depth === 0 && !/\s/.test(c!)) {
        throw new Error(`unexpected ${JSON.stringify(c)} between JSON documents`)
      }
    }
    this.scanned = this.buffer.length
    return docs
  }

}

/**
 * The items of one `kubectl get <resource> -o json` List, one at a time, as
 * the text arrives: only the item being read is held, never the whole list,
 * so memory stays flat however many objects a cluster has. Pure: feed text,
 * get parsed items; end() checks that a whole document was read.
 */
export class JsonListItemSplitter {
  private buffer = ''
  private depth = 0
  private inString = false
  private escaped = false
  /** where the string being read at depth 1 (a key, maybe) starts */
  private stringStart = -1
  private lastString: string | undefined
  private key: string | undefined
  private inItems = false
  private itemStart = -1
  private done = false
  private started = false

  push(chunk: string): unknown[] {
    const items: unknown[] = []
    const text = this.buffer + chunk
    let i = this.buffer.length
    for (; i < text.length; i++) {
      const c = text[i]!
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === '\\') this.escaped = true
        else if (c === '"') {
          this.inString = false
          if (this.stringStart >= 0) this.lastString = text.slice(this.stringStart + 1, i)
          this.stringStart = -1
        }
        continue
      }
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue
      if (this.done) throw new Error(`unexpected ${JSON.stringify(c)} after the JSON list`)
      if (!this.started) {
        if (c !== '{') throw new Error(`unexpected ${JSON.stringify(c)}: expected a JSON list object`)
        this.started = true
      }
      if (c === '"') {
        this.inString = true
        if (this.depth === 1) this.stringStart = i
      } else if (c === ':' && this.depth === 1) {
        this.key = this.lastString
      } else if (c === ',' && this.depth === 1) {
        this.key = undefined
      } else if (c === '{' || c === '[') {
        if (this.depth === 1 && c === '[' && this.key === 'items') this.inItems = true
        else if (this.inItems && this.depth === 2) this.itemStart = i
        this.depth++
      } else if (c === '}' || c === ']') {
        this.depth--
        if (this.depth < 0) throw new Error(`unexpected ${JSON.stringify(c)} in JSON list`)
        if (this.inItems && this.depth === 2 && this.itemStart >= 0) {
          items.push(JSON.parse(text.slice(this.itemStart, i + 1)))
          this.itemStart = -1
        } else if (this.inItems && this.depth === 1) {
          this.inItems = false
        } else if (this.depth === 0) {
          this.done = true
        }
      }
    }
    // keep only what is still needed: the item or depth-1 string being read
    const keep = Math.min(...[this.itemStart, this.stringStart].filter((n) => n >= 0), text.length)
    this.buffer = text.slice(keep)
    if (this.itemStart >= 0) this.itemStart -= keep
    if (this.stringStart >= 0) this.stringStart -= keep
    return items
  }

  /** Throws unless exactly one whole JSON document was read. */
  end(): void {
    if (!this.done) throw new Error('the JSON list ended early')
  }
}
