// Parses every ```mermaid block of the Markdown on standard input with Mermaid itself.
// Prints one JSON line: {"blocks": n, "errors": ["block i: message", ...]}.
import mermaid from 'mermaid'
import { readFileSync } from 'node:fs'

const text = readFileSync(0, 'utf8')
const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1])
const errors = []
for (const [i, block] of blocks.entries()) {
  try {
    await mermaid.parse(block)
  } catch (e) {
    errors.push(`block ${i + 1}: ${String(e.message || e).slice(0, 500)}`)
  }
}
process.stdout.write(JSON.stringify({ blocks: blocks.length, errors }) + '\n')
