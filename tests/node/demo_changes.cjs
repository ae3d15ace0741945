// realtime-js as a frontend pointed at `skybound demo`: the printed URL and anon key,
// nothing else. Prints its join status, then the first UPDATE of a flight it hears
// (as realtime-js hands it to the application), and exits.
// Usage: node demo_changes.cjs <socket url> <apikey> <origin airport>
const { RealtimeClient } = require('@supabase/realtime-js')
const WebSocket = require('ws')

const [url, apikey, origin] = process.argv.slice(2)
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')

const client = new RealtimeClient(url, { params: { apikey }, transport: WebSocket })
client
  .channel('demo-board')
  .on(
    'postgres_changes',
    { event: 'UPDATE', schema: 'public', table: 'flights', filter: `origin=eq.${origin}` },
    (change) => {
      out({ kind: 'change', change })
      client.disconnect().then(() => process.exit(0))
    },
  )
  .subscribe((status, error) => out({ kind: 'status', status, error: error ? String(error) : null }))
