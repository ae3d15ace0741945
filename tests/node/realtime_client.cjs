// Supabase's official realtime-js against Skybound: prints one JSON line per thing it sees.
// Usage: node realtime_client.cjs <socket url> <apikey> <vsn> <flight id>
const { RealtimeClient } = require('@supabase/realtime-js')
const WebSocket = require('ws')

const [url, apikey, vsn, flightId] = process.argv.slice(2)
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')

const client = new RealtimeClient(url, {
  params: { apikey },
  vsn,
  transport: WebSocket,
  heartbeatIntervalMs: 500,
})
client.onHeartbeat((status) => out({ kind: 'heartbeat', status }))

const channel = client.channel('node-room', {
  config: { broadcast: { self: true, ack: true }, presence: { key: `node-${vsn}` } },
})
channel
  .on(
    'postgres_changes',
    { event: 'UPDATE', schema: 'public', table: 'flights', filter: `id=eq.${flightId}` },
    (change) => out({ kind: 'change', type: change.eventType, gate: change.new.departure_gate }),
  )
  .on('broadcast', { event: 'ping' }, (message) => out({ kind: 'broadcast', payload: message.payload }))
  .on('presence', { event: 'sync' }, () => out({ kind: 'presence', keys: Object.keys(channel.presenceState()) }))
  .subscribe(async (status, error) => {
    out({ kind: 'status', status, error: error ? String(error) : null })
    if (status !== 'SUBSCRIBED') return
    await channel.track({ online: true })
    out({ kind: 'ack', result: await channel.send({ type: 'broadcast', event: 'ping', payload: { n: 1 } }) })
  })
