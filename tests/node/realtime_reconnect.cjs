// realtime-js across a server restart: two channels on one socket, each with a
// postgres_changes binding on one flight. "plain" is Supabase's behaviour; "replaying"
// uses Skybound's replay extension: it keeps the position of the last change it got
// (data.position, which realtime-js's callback leaves out, so it is read from the raw
// message) in config.broadcast.replay, and realtime-js sends that config again when it
// rejoins by itself. Prints one JSON line per thing it sees.
// Usage: node realtime_reconnect.cjs <socket url> <apikey> <vsn> <flight id>
const { RealtimeClient } = require('@supabase/realtime-js')
const WebSocket = require('ws')

const [url, apikey, vsn, flightId] = process.argv.slice(2)
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')

const client = new RealtimeClient(url, {
  params: { apikey },
  vsn,
  transport: WebSocket,
  heartbeatIntervalMs: 1000,
  reconnectAfterMs: () => 300,
})
const binding = { event: 'UPDATE', schema: 'public', table: 'flights', filter: `id=eq.${flightId}` }
const replay = {}

for (const name of ['plain', 'replaying']) {
  const config = name === 'replaying' ? { broadcast: replay } : {}
  client
    .channel(name, { config })
    .on('postgres_changes', binding, (change) => out({ kind: 'change', channel: name, gate: change.new.departure_gate }))
    .subscribe((status, error) => out({ kind: 'status', channel: name, status, error: error ? String(error) : null }))
}

client.socketAdapter.onMessage((message) => {
  const position = message.payload && message.payload.data && message.payload.data.position
  if (message.topic === 'realtime:replaying' && message.event === 'postgres_changes' && position) {
    replay.replay = { since: position }
  }
})
client.socketAdapter.onClose(() => out({ kind: 'closed' }))
