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
