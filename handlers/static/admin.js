// The operations dashboard: sign-in with the built-in auth (token in sessionStorage), live
// charts from GET /v1/admin/system/stream, and today's disrupted flights with actions that
// call the admin flight API with If-Match. No build step, no outside network.
"use strict";

(function () {
  const AUTH_URL = document.querySelector('meta[name="skybound-auth-url"]').content;
  const ANON_KEY = document.querySelector('meta[name="skybound-anon-key"]').content;
  const TOKEN_KEY = "skybound.admin.token";
  const POINTS = 120; // samples kept per chart
  const $ = (id) => document.getElementById(id);

  let stream = null; // AbortController of the open system stream
  let retryTimer = null;

  // ---- session ----------------------------------------------------------------------

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  function show(view) {
    $("sign-in").hidden = view !== "sign-in";
    $("refused").hidden = view !== "refused";
    $("dashboard").hidden = view !== "dashboard";
    $("sign-out").hidden = view === "sign-in";
  }

  function setConnection(state, text) {
    const el = $("connection");
    el.dataset.state = state;
    el.textContent = text;
  }

  function signedOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopStream();
    show("sign-in");
    setConnection("idle", "Signed out");
    $("sign-in-error").textContent = message || "";
  }

  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    const form = event.currentTarget;
    const response = await fetch(AUTH_URL + "/token?grant_type=password", {
      method: "POST",
      headers: { "Content-Type": "application/json", apikey: ANON_KEY },
      body: JSON.stringify({ email: form.email.value, password: form.password.value }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("sign-in-error").textContent =
        body.error_description || body.msg || body.message || "Sign-in failed.";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, body.access_token);
    form.password.value = "";
    start();
  });

  $("sign-out").addEventListener("click", () => {
    // End the session on the server too (its refresh token); the page forgets it anyway.
    const held = token();
    if (held) {
      fetch(AUTH_URL + "/logout", {
        method: "POST", headers: { Authorization: "Bearer " + held, apikey: ANON_KEY },
      }).catch(() => {});
    }
    signedOut();
  });

  async function api(method, path, { body, ifMatch, signal } = {}) {
    const headers = { Authorization: "Bearer " + token() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (ifMatch !== undefined) headers["If-Match"] = '"' + ifMatch + '"';
    const response = await fetch(path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) signedOut("Your session ended: sign in again.");
    return response;
  }

  async function start() {
    if (!token()) { signedOut(); return; }
    const response = await api("GET", "/v1/admin/system");
    if (response.status === 401) return;
    if (response.status === 403) { stopStream(); show("refused"); setConnection("idle", "Signed in"); return; }
    if (!response.ok) { setConnection("reconnecting", "Server unavailable"); return; }
    show("dashboard");
    render(await response.json());
    loadDisruptions();
    openStream();
  }

  // ---- charts -----------------------------------------------------------------------

  const charts = {};
  let previous = null; // the last report, for rates

  function makeChart(id, series) {
    const figure = $(id);
    const data = [[], ...series.map(() => [])];
    const plot = new uPlot({
      width: Math.max(280, figure.clientWidth - 16),
      height: 180,
      series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2 }))],
      axes: [{}, { size: 50 }],
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    }, data, figure);
    charts[id] = { plot, data, now: figure.querySelector(".now") };
  }

  function push(id, time, values, summary) {
    const chart = charts[id];
    chart.data[0].push(time);
    values.forEach((v, i) => chart.data[i + 1].push(v));
    if (chart.data[0].length > POINTS) chart.data.forEach((column) => column.shift());
    chart.plot.setData(chart.data);
    chart.now.textContent = summary;
  }

  function setupCharts() {
    if (charts["chart-bookings"]) return;
    makeChart("chart-bookings", [["Bookings / min", "#0b5cad"]]);
    makeChart("chart-streams", [["SSE", "#0b5cad"], ["WebSocket", "#2e7d32"], ["Realtime", "#8e24aa"]]);
    makeChart("chart-lag", [["Lag (events)", "#e65100"]]);
    makeChart("chart-errors", [["5xx / min", "#b00020"], ["Task restarts / min", "#5b6575"]]);
  }

  function perMinute(now, before, pick) {
    if (!before) return 0;
    const seconds = (Date.parse(now.at) - Date.parse(before.at)) / 1000;
    return seconds > 0 ? Math.max(0, (pick(now) - pick(before)) * 60 / seconds) : 0;
  }

  function figure(list, label, value) {
    const wrap = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = label;
    dd.textContent = value;
    wrap.append(dt, dd);
    list.append(wrap);
  }

  function render(report) {
    setupCharts();
    const fleet = report.fleet;
    const list = $("figures");
    list.replaceChildren();
    const me = report.workers[0];
    figure(list, "Workers", String(fleet.workers));
    figure(list, "Change listener", fleet.listener.up ? "up" : "DOWN");
    figure(list, "Listener lag", fleet.listener.lag_events + " events");
    figure(list, "Outbox depth", String(report.outbox_depth));
    figure(list, "Jobs due", String(report.jobs_due));
    figure(list, "Pool in use", fleet.pool.in_use + " / " + fleet.pool.max);
    figure(list, "Topics", String(fleet.connections.topics));
    figure(list, "5xx answers", String(fleet.errors.http_5xx));
    figure(list, "Tasks down", fleet.errors.tasks_down.join(", ") || "none");
    figure(list, "Uptime", Math.round(me.uptime_seconds / 60) + " min");
    figure(list, "Version", me.version + " · PostgreSQL " + report.database_version);

    const time = Date.parse(report.at) / 1000;
    const c = fleet.connections;
    push("chart-bookings", time, [report.bookings_last_minute], String(report.bookings_last_minute));
    push("chart-streams", time, [c.sse, c.websocket, c.realtime_compat],
      String(c.sse + c.websocket + c.realtime_compat));
    push("chart-lag", time, [fleet.listener.lag_events], String(fleet.listener.lag_events));
    const errors = perMinute(report, previous, (r) => r.fleet.errors.http_5xx);
    const restarts = perMinute(report, previous, (r) => r.fleet.errors.task_restarts);
    push("chart-errors", time, [errors, restarts], errors.toFixed(1));
    previous = report;
  }

  // ---- the system stream (fetch, since EventSource cannot send a bearer token) --------

  function stopStream() {
    if (stream) stream.abort();
    stream = null;
    clearTimeout(retryTimer);
  }

  function reconnectLater() {
    setConnection("reconnecting", "Reconnecting");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(openStream, 2000 + Math.random() * 2000);
  }

  function dispatch(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return;
    const body = JSON.parse(data.join("\n"));
    if (event === "system") render(body);
    else if (event === "error" && body.code === "token_expired") signedOut("Your session ended: sign in again.");
  }

  async function openStream() {
    stopStream();
    const controller = new AbortController();
    stream = controller;
    try {
      const response = await api("GET", "/v1/admin/system/stream", { signal: controller.signal });
      if (!response.ok || !response.body) { if (response.status !== 401) reconnectLater(); return; }
      setConnection("live", "Live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      controller.signal.addEventListener("abort", () => reader.cancel());
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    if (stream === controller && token()) reconnectLater();
  }

  // ---- disrupted flights ----------------------------------------------------------------

  const rows = $("rows");

  function clock(instant) {
    return instant ? instant.local.slice(11, 16) : "—";
  }

  function notice(text, kind) {
    $("notice").textContent = text;
    $("notice").dataset.kind = kind || "info";
  }

  function fillRow(tr, flight) {
    tr.dataset.flightId = flight.id;
    tr.dataset.version = flight.version;
    tr.className = flight.status;
    tr.querySelector(".flight").textContent = flight.designator;
    tr.querySelector(".route").textContent =
      flight.departure.airport.iata + " → " + flight.arrival.airport.iata;
    tr.querySelector(".scheduled").textContent = clock(flight.departure.scheduled);
    tr.querySelector(".estimated").textContent = clock(flight.departure.estimated);
    tr.querySelector(".status").textContent =
      flight.status + (flight.delay_minutes ? " (+" + flight.delay_minutes + " min)" : "");
    const gate = tr.querySelector(".gate");
    const before = gate.textContent;
    gate.textContent = flight.departure.gate || "—";
    gate.classList.toggle("changed", before !== "" && before !== gate.textContent);
    tr.flight = flight;
    for (const form of tr.querySelectorAll("form.act")) {
      form.setAttribute("aria-label", form.querySelector("button").textContent + " " + flight.designator);
    }
  }

  function addRow(flight) {
    const existing = rows.querySelector('tr[data-flight-id="' + flight.id + '"]');
    if (existing) { fillRow(existing, flight); return existing; }
    const tr = $("row-template").content.firstElementChild.cloneNode(true);
    fillRow(tr, flight);
    tr.querySelector("form.delay").addEventListener("submit", (e) => act(e, tr, "delay"));
    tr.querySelector("form.gate-change").addEventListener("submit", (e) => act(e, tr, "gate"));
    tr.querySelector("form.cancel").addEventListener("submit", (e) => act(e, tr, "cancel"));
    rows.append(tr);
    $("empty").hidden = true;
    return tr;
  }

  async function loadDisruptions() {
    const airport = $("airport").value.trim();
    const query = airport ? "?airport=" + encodeURIComponent(airport) : "";
    const response = await api("GET", "/v1/admin/flights/disruptions" + query);
    if (!response.ok) { notice(await problemText(response), "error"); return; }
    const body = await response.json();
    rows.replaceChildren();
    body.flights.forEach((item) => addRow(item.flight));
    $("empty").hidden = body.flights.length > 0;
    if (body.truncated) notice("More flights than shown: choose an airport.", "info");
  }

  async function reloadRow(tr) {
    const response = await api("GET", "/v1/flights/" + tr.dataset.flightId);
    if (response.ok) fillRow(tr, await response.json());
  }

  async function problemText(response) {
    const body = await response.json().catch(() => ({}));
    const fields = (body.errors || []).map((e) => e.field + ": " + e.message).join("; ");
    return (body.detail || body.title || "Request failed (" + response.status + ")") +
      (fields ? " (" + fields + ")" : "");
  }

  function request(kind, flight, form) {
    const id = flight.id;
    if (kind === "delay") {
      const from = Date.parse((flight.departure.estimated || flight.departure.scheduled).utc);
      const minutes = Number(form.minutes.value);
      return ["POST", "/v1/admin/flights/" + id + "/delay",
        { estimated_departure: new Date(from + minutes * 60000).toISOString(), reason: "Delayed from the dashboard" }];
    }
    if (kind === "gate") {
      return ["PATCH", "/v1/admin/flights/" + id + "/stands", { departure_gate: form.gate.value.trim() }];
    }
    return ["POST", "/v1/admin/flights/" + id + "/cancel", { reason: form.reason.value.trim() }];
  }

  async function act(event, tr, kind) {
    event.preventDefault();
    const form = event.currentTarget;
    const flight = tr.flight;
    const [method, path, body] = request(kind, flight, form);
    form.querySelector("button").disabled = true;
    try {
      const response = await api(method, path, { body, ifMatch: flight.version });
      if (response.ok) {
        fillRow(tr, await response.json());
        notice(flight.designator + ": done.", "info");
        form.reset();
      } else if (response.status === 412) {
        notice(flight.designator + " was changed by someone else meanwhile; the row now shows " +
          "its current state. Check it and try again.", "error");
        await reloadRow(tr);
      } else if (response.status !== 401) {
        notice(flight.designator + ": " + await problemText(response), "error");
      }
    } finally {
      form.querySelector("button").disabled = false;
    }
  }

  $("filter").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (event.submitter && event.submitter.name === "open") {
      const id = $("flight-id").value.trim();
      if (!/^[0-9]+$/.test(id)) return;
      const response = await api("GET", "/v1/flights/" + id);
      if (response.ok) addRow(await response.json());
      else notice(await problemText(response), "error");
      return;
    }
    loadDisruptions();
  });

  start();
})();
