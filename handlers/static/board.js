// Live airport board: one EventSource, rows updated in place.
// The stream starts with a snapshot, then sends flight events; EventSource
// reconnects by itself and resumes with Last-Event-ID, so the board never
// shows a stale gate for longer than a reconnect.
"use strict";

(function () {
  const parts = location.pathname.split("/").filter(Boolean);
  const iata = (parts[1] || "").toUpperCase();
  const kind = new URLSearchParams(location.search).get("kind") === "arrivals"
    ? "arrivals" : "departures";
  const departures = kind === "departures";

  const rows = document.getElementById("rows");
  const connection = document.getElementById("connection");
  const flights = new Map(); // flight id -> {flight, row}
  let windowEnd = null;
  let timeZone = "UTC";

  document.getElementById("title").textContent = departures ? "Departures" : "Arrivals";
  document.getElementById("place-heading").textContent = departures ? "Destination" : "Origin";
  document.getElementById("gate-heading").textContent = departures ? "Gate" : "Belt";
  document.title = `${iata} ${departures ? "departures" : "arrivals"}`;

  function localTime(instant) {
    // "2026-12-01T08:05:00-05:00" -> "08:05": the airport's wall clock, not the viewer's.
    return instant ? instant.local.slice(11, 16) : "";
  }

  function end(flight) { return departures ? flight.departure : flight.arrival; }

  function statusText(flight) {
    const here = end(flight);
    if (flight.status === "cancelled") return ["cancelled", "Cancelled"];
    if (flight.status === "boarding") return ["boarding", `Boarding ${here.gate || ""}`.trim()];
    if (flight.status === "departed") return ["departed", `Departed ${localTime(here.actual)}`];
    if (flight.status === "landed") return ["landed", `Landed ${localTime(here.actual)}`];
    if (flight.status === "arrived") return ["arrived", `Arrived ${localTime(here.actual)}`];
    if (flight.status === "diverted") return ["cancelled", "Diverted"];
    if (flight.delay_minutes > 0 && here.estimated) {
      return ["delayed", `Delayed ${localTime(here.estimated)}`];
    }
    return ["scheduled", "On time"];
  }

  function cells(flight) {
    const here = end(flight);
    const there = departures ? flight.arrival.airport : flight.departure.airport;
    const [state, status] = statusText(flight);
    return {
      time: localTime(here.scheduled),
      flight: flight.designator,
      place: there.city || there.name,
      terminal: here.terminal || "",
      gate: departures ? (here.gate || "") : (flight.arrival.baggage_belt || ""),
      status: status,
      state: state,
    };
  }

  function render(row, flight, highlight) {
    const values = cells(flight);
    row.dataset.flightId = String(flight.id);
    row.dataset.version = String(flight.version);
    row.classList.toggle("cancelled", flight.status === "cancelled");
    for (const name of ["time", "flight", "place", "terminal", "gate", "status"]) {
      let cell = row.querySelector(`td.${name}`);
      if (!cell) {
        cell = document.createElement("td");
        cell.className = name;
        row.appendChild(cell);
      }
      if (cell.textContent !== values[name]) {
        cell.textContent = values[name];
        if (highlight) {
          cell.classList.remove("changed");
          void cell.offsetWidth; // restart the animation
          cell.classList.add("changed");
        }
      }
    }
    row.querySelector("td.status").dataset.status = values.state;
  }

  function scheduled(flight) { return end(flight).scheduled.utc; }

  function place(row, flight) {
    // Keep rows in scheduled-time order.
    const key = scheduled(flight);
    for (const other of rows.children) {
      const entry = flights.get(Number(other.dataset.flightId));
      if (other !== row && entry && scheduled(entry.flight) > key) {
        rows.insertBefore(row, other);
        return;
      }
    }
    rows.appendChild(row);
  }

  function upsert(flight, highlight) {
    const known = flights.get(flight.id);
    if (known) {
      if (known.flight.version >= flight.version) return; // stale or repeated event
      known.flight = flight;
      render(known.row, flight, highlight);
      return;
    }
    if (windowEnd && scheduled(flight) >= windowEnd) return; // beyond the board's window
    const row = document.createElement("tr");
    flights.set(flight.id, { flight, row });
    render(row, flight, highlight);
    place(row, flight);
  }

  function showEmpty() {
    document.getElementById("empty").hidden = flights.size > 0;
  }

  function setState(state, label) {
    connection.dataset.state = state;
    connection.textContent = label;
  }

  const source = new EventSource(`/v1/streams/boards/${iata}?kind=${kind}`);
  source.onopen = () => setState("live", "Live");
  source.onerror = () => setState("reconnecting", "Reconnecting");

  source.addEventListener("snapshot", (message) => {
    const board = JSON.parse(message.data);
    const a = board.airport;
    document.getElementById("airport").textContent = `${a.name} (${a.iata}) · ${a.city}`;
    windowEnd = board.window.end.utc;
    timeZone = a.time_zone;
    tick();
    rows.replaceChildren();
    flights.clear();
    for (const flight of board.flights) upsert(flight, false);
    showEmpty();
  });

  source.addEventListener("reset", () => {
    rows.replaceChildren();
    flights.clear(); // a fresh snapshot follows
  });

  for (const type of ["flight.created", "flight.status_changed", "flight.gate_changed",
                      "flight.delayed", "flight.cancelled", "flight.updated"]) {
    source.addEventListener(type, (message) => {
      upsert(JSON.parse(message.data).flight, true);
      showEmpty();
    });
  }

  function tick() {
    // The airport's own time, as every board in the terminal shows it.
    document.getElementById("clock").textContent = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit", minute: "2-digit", timeZone,
    }).format(new Date());
  }
  tick();
  setInterval(tick, 10000);
})();
