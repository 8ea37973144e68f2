// A fetch-based Server-Sent Events reader: EventSource cannot send the
// bearer token the api requires. It parses the text/event-stream framing
// (event, data, id; comment lines ignored) and hands each event over.

export interface SSEEvent {
  event: string
  data: string
  id: string
}

/** Feed chunks of text; complete events come back, the rest is kept. */
export class SSEParser {
  private buffer = ''
  private event = ''
  private data: string[] = []
  private id = ''

  push(chunk: string): SSEEvent[] {
    this.buffer += chunk
    const out: SSEEvent[] = []
    let nl: number
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl)
      const sep = this.buffer.startsWith('\r\n', nl) ? 2 : 1
      this.buffer = this.buffer.slice(nl + sep)
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id })
        this.event = ''
        this.data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'event') this.event = value
      else if (field === 'data') this.data.push(value)
      else if (field === 'id') this.id = value
    }
    return out
  }
}

export interface StreamResult {
  status: number
  lastEventId: string
}

/**
 * Reads url until the server ends the stream or signal aborts. Non-2xx
 * answers end it with their status (204: nothing more will come).
 */
export async function readEventStream(
  url: string,
  headers: Record<string, string>,
  onEvent: (e: SSEEvent) => void,
  signal?: AbortSignal,
): Promise<StreamResult> {
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal, cache: 'no-store' })
  const parser = new SSEParser()
  let lastEventId = headers['Last-Event-ID'] ?? ''
  if (!res.ok || res.status === 204 || !res.body) return { status: res.status, lastEventId }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    for (const e of parser.push(value)) {
      if (e.id) lastEventId = e.id
      onEvent(e)
    }
  }
  return { status: res.status, lastEventId }
}
