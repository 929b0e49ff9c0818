// Dominance browser client: a terminal (ANSI colours, input history) and a live map of the realm.
// Talks to /ws with the gmcp.mudstandards.org subprotocol: binary frames carry game text, text frames GMCP messages.
"use strict";
(() => {
  const SUBPROTOCOL = "gmcp.mudstandards.org";
  const MAX_LINES = 2000;
  const output = document.getElementById("output");
  const form = document.getElementById("prompt");
  const input = document.getElementById("input");
  const status = document.getElementById("status");
  const playerLabel = document.getElementById("player");
  const map = document.getElementById("map");
  const legend = document.getElementById("legend");
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  let socket = null;
  let attempts = 0;
  let me = null;
  let realm = null;
  const history = [];
  let historyIndex = 0;

  // --- Connection -------------------------------------------------------------------------------------------
  function connect() {
    setStatus("connecting", "connecting…");
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`, [SUBPROTOCOL]);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      attempts = 0;
      setStatus("connected", "connected");
      sendGmcp("Core.Hello", { client: "Dominance web client", version: "1" });
    };
    socket.onmessage = (event) => {
      const gmcpMode = socket.protocol === SUBPROTOCOL;
      if (typeof event.data === "string") {
        if (gmcpMode) { onGmcp(event.data); } else { write(event.data); }
      } else {
        write(decoder.decode(event.data));
      }
    };
    socket.onclose = () => {
      setStatus("disconnected", "disconnected");
      me = null;
      playerLabel.textContent = "";
      input.type = "text";
      const delay = Math.min(10000, 500 * 2 ** attempts++);
      note(`Connection lost. Reconnecting in ${Math.round(delay / 1000)} s…`);
      setTimeout(connect, delay);
    };
  }

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function sendLine(line) {
    if (socket?.readyState !== WebSocket.OPEN) { note("Not connected."); return false; }
    socket.send(encoder.encode(line)); // binary frame: game text
    return true;
  }

  function sendGmcp(pkg, data) {
    if (socket?.readyState === WebSocket.OPEN && socket.protocol === SUBPROTOCOL) {
      socket.send(`${pkg} ${JSON.stringify(data)}`); // text frame: GMCP
    }
  }

  // --- Out-of-band data (GMCP) --------------------------------------------------------------------------------
  function onGmcp(message) {
    const space = message.indexOf(" ");
    const pkg = space < 0 ? message : message.slice(0, space);
    let data = null;
    try { data = space < 0 ? null : JSON.parse(message.slice(space + 1)); } catch { return; }
    if (pkg === "Dominance.Map") { realm = data; drawMap(); }
    else if (pkg === "Dominance.Player") { me = data; playerLabel.textContent = `${data.name}${data.guest ? " (guest)" : ` · ${data.resources} resources`}`; drawMap(); }
    else if (pkg === "Client.Echo") { input.type = data.enabled ? "text" : "password"; }
  }

  // --- Terminal -------------------------------------------------------------------------------------------------
  // Renders text with ANSI SGR codes (bold, 30-37 and 90-97 foreground) as spans; anything else is stripped.
  let style = { bold: false, color: null };
  let pending = "";
  function write(text) {
    const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 40;
    const fragment = document.createDocumentFragment();
    const parts = (pending + text.replace(/\r/g, "")).split(/(\x1b\[[0-9;]*[A-Za-z])/);
    pending = "";
    for (const part of parts) {
      if (part.startsWith("\x1b[")) {
        if (part.endsWith("m")) { applySgr(part.slice(2, -1)); }
        continue;
      }
      if (part.length === 0) { continue; }
      const span = document.createElement("span");
      span.textContent = part;
      if (style.bold) { span.classList.add("b"); }
      if (style.color) { span.classList.add(`c${style.color}`); }
      fragment.appendChild(span);
    }
    output.appendChild(fragment);
    trim();
    if (atBottom) { output.scrollTop = output.scrollHeight; }
  }

  function applySgr(codes) {
    for (const code of (codes === "" ? "0" : codes).split(";").map(Number)) {
      if (code === 0) { style = { bold: false, color: null }; }
      else if (code === 1) { style.bold = true; }
      else if (code === 22) { style.bold = false; }
      else if (code === 39) { style.color = null; }
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) { style.color = code; }
    }
  }

  function note(text) {
    const line = document.createElement("div");
    line.className = "note";
    line.textContent = text;
    output.appendChild(line);
    output.scrollTop = output.scrollHeight;
  }

  function trim() {
    while (output.childNodes.length > MAX_LINES * 4) { output.removeChild(output.firstChild); }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const line = input.value;
    const secret = input.type === "password";
    if (!sendLine(line)) { return; }
    const echo = document.createElement("div");
    echo.className = "echo";
    echo.textContent = secret ? "> ********" : `> ${line}`;
    output.appendChild(echo);
    output.scrollTop = output.scrollHeight;
    if (!secret && line.trim() !== "" && history[history.length - 1] !== line) { history.push(line); }
    historyIndex = history.length;
    input.value = "";
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowUp" && historyIndex > 0) {
      input.value = history[--historyIndex];
      event.preventDefault();
    } else if (event.key === "ArrowDown" && historyIndex < history.length) {
      historyIndex++;
      input.value = historyIndex === history.length ? "" : history[historyIndex];
      event.preventDefault();
    }
  });

  // --- Map ------------------------------------------------------------------------------------------------------
  const SVG = "http://www.w3.org/2000/svg";
  function colourOf(owner) {
    if (!owner) { return "#5c6370"; }
    if (me && owner === me.name) { return "#98c379"; }
    let hash = 0;
    for (const ch of owner) { hash = (hash * 31 + ch.charCodeAt(0)) | 0; }
    return `hsl(${Math.abs(hash) % 360}, 65%, 62%)`;
  }

  function element(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) { node.setAttribute(key, value); }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function drawMap() {
    if (!realm) { return; }
    map.replaceChildren();
    const at = (t) => ({ x: 50 + t.x * 100, y: 50 + t.y * 100 });
    const byName = new Map(realm.territories.map((t) => [t.name, t]));
    for (const t of realm.territories) {
      for (const exit of t.exits) {
        if (exit > t.name) {
          const a = at(t), b = at(byName.get(exit));
          map.appendChild(element("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y }));
        }
      }
    }
    for (const t of realm.territories) {
      const p = at(t);
      const group = element("g", { "data-territory": t.name, "data-owner": t.owner ?? "" });
      const circle = element("circle", { cx: p.x, cy: p.y, r: 44, fill: colourOf(t.owner) });
      if (me && t.name === me.location) { circle.classList.add("here"); }
      group.appendChild(circle);
      group.appendChild(element("title", {}, `${t.name}: ${t.owner ?? "neutral"}, ${t.garrison} soldiers, yields ${t.yield}`));
      group.appendChild(element("text", { x: p.x, y: p.y - 4 }, t.name));
      group.appendChild(element("text", { x: p.x, y: p.y + 15, class: "count" }, String(t.garrison)));
      map.appendChild(group);
    }
    const owners = [...new Set(realm.territories.map((t) => t.owner).filter(Boolean))].sort();
    legend.replaceChildren(...owners.map((owner) => {
      const item = document.createElement("li");
      const swatch = document.createElement("i");
      swatch.style.background = colourOf(owner);
      item.append(swatch, `${owner}: ${realm.territories.filter((t) => t.owner === owner).length}`);
      return item;
    }));
  }

  connect();
})();
