// Dominance browser client: a terminal (ANSI colours, clickable commands, input history) and a live map of the realm.
// Talks to /ws with the gmcp.mudstandards.org subprotocol: binary frames carry game text, text frames GMCP messages.
// It tells the server its window in columns and rows (Client.Size, as telnet's NAWS) and its colour depth
// (Client.Terminal, as telnet's TTYPE in the MTTS style).
// Session resume: after login the server sends a token (Core.Resume); when the connection drops, the client comes back
// with it (/ws?resume=...) and gets its character back, with the output it missed, and no login.
import { AnsiParser, applyStyle } from "./terminal.js";
import { RealmMap } from "./map.js";

const SUBPROTOCOL = "gmcp.mudstandards.org";
// Without the subprotocol there is no GMCP: the server's echo switch (password prompts) is a text frame of its own.
const PLAIN_ECHO_OFF = "\u001b]echo;off\u0007";
const PLAIN_ECHO_ON = "\u001b]echo;on\u0007";
const TERMINAL_TYPE = "XTERM-TRUECOLOR"; // 256 colours and 24-bit colour are both rendered
const MAX_NODES = 8000;
const HISTORY_KEY = "dominance.history";
const HISTORY_LIMIT = 200;
const SETTINGS_KEY = "dominance.settings";
const RESUME_KEY = "dominance.resume"; // in sessionStorage: this tab's session, which a reload of the tab keeps
const COMMAND_COLOUR = "var(--ansi-6)"; // the game shows commands in cyan
const TERRITORY_COLOUR = "var(--ansi-3)"; // and territory names in yellow

const $ = (id) => document.getElementById(id);
const output = $("output");
const form = $("prompt");
const input = $("input");
const status = $("status");
const playerLabel = $("player");
const settingsDialog = $("settings");
const fontSize = $("font-size");
const colours = $("colours");
const encoder = new TextEncoder();
let decoder = new TextDecoder();
let parser = new AnsiParser();

const map = new RealmMap(
  { map: $("map"), details: $("details"), holdings: $("holdings"), note: $("realm-note") },
  { onCommand: (line) => command(line), onFill: (text) => fill(text) });

let socket = null;
let attempts = 0;
let retry = null; // the pending reconnect (a timer, or "offline" until the network is back), if any
let lastSize = null;
let lineText = ""; // the current output line so far, as plain text

// --- Storage: localStorage can be missing or full; the client then just does not remember -------------------------
function load(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}

function store(key, value) {
  try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* not kept */ }
}

function resumeToken() {
  try { return sessionStorage.getItem(RESUME_KEY); } catch { return null; }
}

function keepResumeToken(token) {
  try {
    if (token) { sessionStorage.setItem(RESUME_KEY, token); } else { sessionStorage.removeItem(RESUME_KEY); }
  } catch { /* not kept: a lost connection then means logging in again */ }
}

// --- Connection ---------------------------------------------------------------------------------------------------
function connect() {
  clearTimeout(retry);
  retry = null;
  setStatus("connecting", "connecting…");
  const token = resumeToken();
  const query = token ? `?resume=${encodeURIComponent(token)}` : "";
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${query}`, [SUBPROTOCOL]);
  socket.binaryType = "arraybuffer";
  // A new connection starts with plain text: nothing half-received or still styled carries over from the last one.
  decoder = new TextDecoder();
  parser = new AnsiParser();
  socket.onopen = () => {
    attempts = 0;
    setStatus("connected", "connected");
    sendGmcp("Core.Hello", { client: "Dominance web client", version: "2" });
    sendGmcp("Client.Terminal", { type: TERMINAL_TYPE });
    reportSize(true);
  };
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") { write(decoder.decode(event.data, { stream: true })); }
    else if (socket.protocol === SUBPROTOCOL) { onGmcp(event.data); }
    else if (event.data === PLAIN_ECHO_OFF || event.data === PLAIN_ECHO_ON) { input.type = event.data === PLAIN_ECHO_ON ? "text" : "password"; }
    else { write(event.data); }
  };
  const current = socket;
  socket.onclose = () => {
    if (socket !== current) { return; } // an older socket, already replaced
    setStatus("disconnected", "disconnected");
    // Everything the server said about the world may have changed by the time the client is back.
    map.disconnected();
    playerLabel.textContent = "";
    input.type = "text";
    showRealm();
    if (navigator.onLine === false) {
      // Trying now would only fail: the "online" event reconnects.
      note("Connection lost: this device is offline. Reconnecting when the network is back…");
      retry = "offline";
      return;
    }
    const delay = Math.min(8000, 500 * 2 ** attempts++);
    note(`Connection lost. Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
    retry = setTimeout(connect, delay);
  };
}

/** Reconnects at once if the connection is down: the network is back, or a tab that slept is shown again. */
function reconnectNow() {
  if (retry !== null && navigator.onLine !== false) { connect(); }
}

window.addEventListener("online", reconnectNow);
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") { reconnectNow(); } });
// Offline, the socket may look open for minutes: close it now, so that the page says so and comes back when online.
window.addEventListener("offline", () => { if (socket?.readyState === WebSocket.OPEN) { socket.close(); } });

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function sendLine(line) {
  if (socket?.readyState !== WebSocket.OPEN) { note("Not connected."); return false; }
  // Game text: a binary frame with GMCP; a text frame on plain WebSocket (a server or proxy that did not take the subprotocol).
  socket.send(socket.protocol === SUBPROTOCOL ? encoder.encode(line) : line);
  return true;
}

function sendGmcp(pkg, data) {
  if (socket?.readyState === WebSocket.OPEN && socket.protocol === SUBPROTOCOL) {
    socket.send(`${pkg} ${JSON.stringify(data)}`); // text frame: GMCP
  }
}

// --- Window size, in character cells of the output's font ----------------------------------------------------------
const ruler = document.createElement("canvas").getContext("2d");
function measure() {
  if (output.clientWidth === 0) { return null; } // hidden (the map view on a phone): the text keeps its last size
  const style = getComputedStyle(output);
  ruler.font = `${style.fontSize} ${style.fontFamily}`;
  const cell = ruler.measureText("0".repeat(100)).width / 100;
  const width = output.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const height = output.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  return { width: Math.max(1, Math.floor(width / cell)), height: Math.max(1, Math.floor(height / parseFloat(style.lineHeight))) };
}

function reportSize(always) {
  const size = measure();
  if (!size || (!always && lastSize && size.width === lastSize.width && size.height === lastSize.height)) { return; }
  lastSize = size;
  sendGmcp("Client.Size", size);
}

new ResizeObserver(() => reportSize(false)).observe(output);

// The on-screen keyboard shrinks the visual viewport; the page follows it so that the input line stays above it.
function fitViewport() {
  const viewport = window.visualViewport;
  if (viewport && Math.abs(viewport.scale - 1) < 0.01) {
    document.documentElement.style.setProperty("--app-height", `${viewport.height}px`);
    window.scrollTo(0, 0);
  } else {
    document.documentElement.style.removeProperty("--app-height"); // pinch-zoomed: the dvh height applies
  }
}

window.visualViewport?.addEventListener("resize", fitViewport);
fitViewport();

// --- Out-of-band data (GMCP) --------------------------------------------------------------------------------------
function onGmcp(message) {
  const space = message.indexOf(" ");
  const pkg = space < 0 ? message : message.slice(0, space);
  let data = null;
  try { data = space < 0 ? null : JSON.parse(message.slice(space + 1)); } catch { return; }
  if (pkg === "Dominance.Map") {
    map.setRealm(data);
    showRealm();
  } else if (pkg === "Dominance.Player") {
    playerLabel.textContent = `${data.name}${data.guest ? " (guest)" : ` · ${data.resources} resources`}`;
    map.setPlayer(data);
    showRealm();
  } else if (pkg === "Core.Resume") {
    keepResumeToken(typeof data?.token === "string" ? data.token : null);
  } else if (pkg === "Core.Resume.Refused" || pkg === "Core.Resume.Ended") {
    keepResumeToken(null); // the server has said why, in the text
  } else if (pkg === "Client.Echo") {
    input.type = data.enabled ? "text" : "password";
  }
}

function showRealm() {
  document.body.dataset.realm = map.mode;
  if (map.mode === "none") { setView("text"); }
}

// --- Terminal -----------------------------------------------------------------------------------------------------
function write(text) {
  const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 40;
  const fragment = document.createDocumentFragment();
  for (const run of parser.feed(text)) {
    run.text.split("\n").forEach((piece, i) => {
      if (i > 0) { fragment.append("\n"); lineText = ""; }
      if (piece.length > 0) { fragment.append(render(piece, run.style)); lineText += piece; }
    });
  }
  output.appendChild(fragment);
  trim();
  if (atBottom) { output.scrollTop = output.scrollHeight; }
}

/** One run of styled text, with its commands, territory names and exits made clickable. */
function render(text, style) {
  const span = document.createElement("span");
  applyStyle(span, style);
  const trimmed = text.trim();
  const fg = style.reverse ? null : style.fg;
  if (fg === COMMAND_COLOUR && trimmed.length > 0) {
    // "help" is sent as it is; "attack <territory> <soldiers>" fills the input up to its first placeholder.
    const placeholder = trimmed.search(/[<[]/);
    const attributes = placeholder < 0 ? { command: trimmed } : { fill: trimmed.slice(0, placeholder) };
    span.append(...around(text, trimmed, link(trimmed, attributes)));
  } else if (fg === TERRITORY_COLOUR && map.names.includes(trimmed)) {
    span.append(...around(text, trimmed, link(trimmed, { territory: trimmed })));
  } else if ((lineText + text).startsWith("Exits:") || /Exits: /.test(text)) {
    // "Exits: north to Highkeep, east to ..." and "Exits: north (Highkeep), ...": each direction walks that way.
    let at = 0;
    for (const match of text.matchAll(/\b(north|south|east|west)(?= to | \()/g)) {
      span.append(text.slice(at, match.index), link(match[0], { command: match[0] }));
      at = match.index + match[0].length;
    }
    span.append(text.slice(at));
  } else {
    span.textContent = text;
  }
  return span;
}

function around(text, trimmed, node) {
  const start = text.indexOf(trimmed);
  return [text.slice(0, start), node, text.slice(start + trimmed.length)].filter((part) => part !== "");
}

function link(text, data) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  Object.assign(button.dataset, data);
  button.textContent = text;
  return button;
}

output.addEventListener("click", (event) => {
  const button = event.target.closest("button.link");
  if (!button) { return; }
  if (button.dataset.command) { command(button.dataset.command); }
  else if (button.dataset.fill) { fill(button.dataset.fill); }
  else if (button.dataset.territory) {
    setView("map");
    map.select(button.dataset.territory, true);
  }
});

function note(text) {
  const line = document.createElement("div");
  line.className = "note";
  line.textContent = text;
  output.appendChild(line);
  lineText = "";
  output.scrollTop = output.scrollHeight;
}

function trim() {
  while (output.childNodes.length > MAX_NODES) { output.removeChild(output.firstChild); }
}

// --- Input and its history ------------------------------------------------------------------------------------------
const history = load(HISTORY_KEY, []).filter((line) => typeof line === "string").slice(-HISTORY_LIMIT);
let historyIndex = history.length;
// "connect Alice secret1" and "create Alice secret1" carry a password: they stay in this page's history only.
const withPassword = /^\s*(connect|create)\s+\S+\s+\S/i;

/** Sends a command as if typed; secret ones (passwords) are neither shown nor remembered. */
function command(line, secret = false) {
  if (!sendLine(line)) { return false; }
  const echo = document.createElement("div");
  echo.className = "echo";
  echo.textContent = secret ? "> ********" : `> ${line}`;
  output.appendChild(echo);
  lineText = "";
  output.scrollTop = output.scrollHeight;
  if (!secret && line.trim() !== "" && history[history.length - 1] !== line) {
    history.push(line);
    history.splice(0, history.length - HISTORY_LIMIT);
    store(HISTORY_KEY, history.filter((entry) => !withPassword.test(entry)));
  }
  historyIndex = history.length;
  return true;
}

/** Puts the start of a command in the input line for the player to finish. */
function fill(text) {
  setView("text");
  input.value = text;
  input.focus();
  input.setSelectionRange(text.length, text.length);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (command(input.value, input.type === "password")) { input.value = ""; }
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

// --- Views (a phone shows the text or the map, with the input line under both) ------------------------------------
function setView(view) {
  document.body.dataset.view = view;
  for (const button of document.querySelectorAll("#views button")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === view));
  }
}

for (const button of document.querySelectorAll("#views button")) {
  button.addEventListener("click", () => setView(button.dataset.view));
}

// --- Settings -----------------------------------------------------------------------------------------------------
const settings = { fontSize: 14, colours: true, ...load(SETTINGS_KEY, {}) };

function applySettings() {
  const size = [12, 14, 16, 18, 20].includes(Number(settings.fontSize)) ? Number(settings.fontSize) : 14;
  document.documentElement.style.setProperty("--font-size", `${size}px`);
  output.classList.toggle("mono", !settings.colours);
  fontSize.value = String(size);
  colours.checked = Boolean(settings.colours);
  reportSize(false);
}

fontSize.addEventListener("change", () => { settings.fontSize = Number(fontSize.value); store(SETTINGS_KEY, settings); applySettings(); });
colours.addEventListener("change", () => { settings.colours = colours.checked; store(SETTINGS_KEY, settings); applySettings(); });
$("settings-open").addEventListener("click", () => settingsDialog.showModal());
settingsDialog.addEventListener("close", () => input.focus());

applySettings();
connect();
