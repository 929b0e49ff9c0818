// The realm map: each territory is a button on a grid, coloured as the game's text map colours it (yours green,
// others' red, neutral gray: the same --ansi-* colours the terminal uses). Before login it is an overview of the land
// only; when the connection drops it is cleared, so nothing stale stays on screen.
// Keyboard: Tab reaches the map (one stop), the arrow keys move between territories, and the details of the focused
// one show below it, with its exits and what the player can do there.

const DIRECTIONS = [["north", 0, -1], ["south", 0, 1], ["east", 1, 0], ["west", -1, 0]];
const KEYS = { ArrowUp: "north", ArrowDown: "south", ArrowRight: "east", ArrowLeft: "west" };
const KIND_NAMES = { yours: "yours", others: "others'", neutral: "neutral" };

function html(name, attributes = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) { node.setAttribute(key, value); }
  node.append(...children);
  return node;
}

function hidden(text) { return html("span", { class: "sr-only" }, text); }

export class RealmMap {
  /**
   * @param parts the elements: map (grid), details, holdings, note
   * @param actions onCommand(line) sends a command; onFill(text) puts text in the input line for the player to finish
   */
  constructor(parts, actions) {
    Object.assign(this, parts);
    this.actions = actions;
    this.realm = null;
    this.me = null;
    this.offline = false;
    this.selected = null;
    this.map.addEventListener("keydown", (event) => this.onKey(event));
    this.map.addEventListener("focusin", (event) => {
      const name = event.target.dataset?.territory;
      if (name && name !== this.selected) { this.select(name); }
    });
    this.details.addEventListener("click", (event) => this.onDetailsClick(event));
  }

  /** "none" (no map yet), "offline" (the connection dropped), "overview" (before login) or "live". */
  get mode() {
    if (!this.realm) { return this.offline ? "offline" : "none"; }
    return this.me ? "live" : "overview";
  }

  /** The territory names the game has: the terminal links them. */
  get names() { return this.realm ? this.realm.territories.map((t) => t.name) : []; }

  setRealm(realm) {
    this.realm = realm;
    this.offline = false;
    this.render();
  }

  setPlayer(me) {
    const moved = this.me?.location !== me.location;
    this.me = me;
    if (moved) { this.selected = me.location; }
    this.render();
  }

  /** Forgets everything the server said: it may all have changed by the time the client is back. */
  disconnected() {
    this.offline = this.offline || this.realm !== null;
    this.realm = null;
    this.me = null;
    this.selected = null;
    this.render();
  }

  territory(name) { return this.realm?.territories.find((t) => t.name === name); }

  kindOf(t) {
    if (!this.me) { return "unknown"; }
    if (!t.owner) { return "neutral"; }
    return t.owner === this.me.name ? "yours" : "others";
  }

  exitsOf(t) {
    return t.exits.map((name) => this.territory(name)).filter(Boolean).map((to) => {
      const direction = DIRECTIONS.find(([, dx, dy]) => to.x - t.x === dx && to.y - t.y === dy);
      return { direction: direction ? direction[0] : "", to };
    });
  }

  /** Shows a territory's details and makes it the map's tab stop; focus moves there if focus was on the map. */
  select(name, focus = false) {
    if (!this.territory(name)) { return; }
    this.selected = name;
    for (const tile of this.map.querySelectorAll("[data-territory]")) {
      tile.tabIndex = tile.dataset.territory === name ? 0 : -1;
      if (tile.dataset.territory === name && focus) { tile.focus(); }
    }
    this.renderDetails();
  }

  render() {
    const focused = this.map.contains(document.activeElement) ? document.activeElement.dataset.territory : null;
    this.map.replaceChildren();
    this.holdings.replaceChildren();
    this.note.textContent = {
      none: "",
      offline: "Disconnected. The map comes back with the connection.",
      overview: "Log in to see who holds what, and where you are.",
      live: this.realm ? `Tick ${this.realm.tick}.` : "",
    }[this.mode];
    if (!this.realm) { this.renderDetails(); return; }

    const territories = this.realm.territories;
    const columns = Math.max(...territories.map((t) => t.x)) + 1;
    this.map.style.gridTemplateColumns = `repeat(${columns}, 1fr)`;

    const here = this.me?.location;
    if (!this.territory(this.selected)) { this.selected = this.territory(here) ? here : territories[0].name; }
    for (const t of [...territories].sort((a, b) => a.y - b.y || a.x - b.x)) {
      const kind = this.kindOf(t);
      const tile = html("button", {
        type: "button",
        class: "tile",
        "data-territory": t.name,
        "data-owner": this.me ? (t.owner ?? "") : "",
        "data-kind": kind,
        style: `grid-column: ${t.x + 1}; grid-row: ${t.y + 1}`,
      }, html("span", { class: "name" }, t.name));
      // The accessible name is the visible text with the rest of the facts between, for screen readers only.
      if (kind === "unknown") {
        tile.append(hidden(`, yields ${t.yield}`));
      } else {
        const owner = t.owner ? `held by ${t.owner} (${KIND_NAMES[kind]})` : "neutral";
        tile.append(hidden(`, ${owner}, `), html("span", { class: "count" }, String(t.garrison)),
          hidden(` soldier${t.garrison === 1 ? "" : "s"}, yields ${t.yield}, `));
      }
      if (t.name === here) {
        tile.classList.add("here");
        tile.setAttribute("aria-current", "location");
        tile.append(html("span", { class: "you" }, "you"), hidden(" are here"));
      }
      for (const { direction } of this.exitsOf(t)) {
        if (direction === "east" || direction === "south") { tile.classList.add(`road-${direction[0]}`); }
      }
      tile.tabIndex = t.name === this.selected ? 0 : -1;
      tile.addEventListener("click", () => this.select(t.name, true));
      this.map.appendChild(tile);
    }

    if (this.me) {
      const owners = [...new Set(territories.map((t) => t.owner).filter(Boolean))].sort();
      this.holdings.append(...owners.map((owner) => {
        const count = territories.filter((t) => t.owner === owner).length;
        return html("li", {}, html("i", { "data-kind": owner === this.me.name ? "yours" : "others" }), `${owner}: ${count}`);
      }));
    }

    if (focused && this.territory(focused)) {
      this.map.querySelector(`[data-territory="${CSS.escape(focused)}"]`)?.focus();
    }
    this.renderDetails();
  }

  renderDetails() {
    // A map update redraws the details: keep the focus on the same button if it had it.
    const focused = this.details.contains(document.activeElement) ? document.activeElement : null;
    const key = focused ? ["select", "command", "fill"].map((k) => focused.dataset[k] ?? "").join("|") : null;
    this.fillDetails();
    if (key) {
      [...this.details.querySelectorAll("button")].find((b) => ["select", "command", "fill"].map((k) => b.dataset[k] ?? "").join("|") === key)?.focus();
    }
  }

  fillDetails() {
    const t = this.territory(this.selected);
    if (!t) { this.details.replaceChildren(); return; }
    const kind = this.kindOf(t);
    const me = this.me;
    const facts = kind === "unknown"
      ? [`Yields ${t.yield} resources a tick. Log in to see who holds it.`]
      : [t.owner ? `Held by ${t.owner === me.name ? "you" : t.owner} (${KIND_NAMES[kind]}).` : "Neutral: nobody holds it.",
        `${t.garrison} soldier${t.garrison === 1 ? "" : "s"}.`, `Yields ${t.yield} resources a tick.`];
    const exits = html("p", { class: "exits" }, "Exits: ");
    this.exitsOf(t).forEach(({ direction, to }, i) => {
      if (i > 0) { exits.append(" "); }
      exits.append(html("button", { type: "button", class: "link", "data-select": to.name }, `${direction} to ${to.name}`));
    });

    const actions = html("p", { class: "actions" });
    if (me) {
      const from = this.territory(me.location);
      const adjacent = from ? from.exits.includes(t.name) : false;
      if (t.name === me.location) {
        actions.append(html("button", { type: "button", "data-command": "look" }, "Look around"));
        if (t.owner === me.name) { actions.append(html("button", { type: "button", "data-fill": "train " }, "Train soldiers…")); }
      }
      if (adjacent) {
        actions.append(html("button", { type: "button", "data-command": `go ${t.name}` }, `Go to ${t.name}`));
        if (t.owner !== me.name && from.owner === me.name && !me.guest) {
          actions.append(html("button", { type: "button", "data-fill": `attack ${t.name} ` }, `Attack ${t.name}…`));
        }
      }
    }
    this.details.replaceChildren(html("h3", {}, t.name), html("p", {}, facts.join(" ")), exits);
    if (actions.childElementCount > 0) { this.details.append(actions); }
  }

  onKey(event) {
    const direction = KEYS[event.key];
    const from = this.territory(event.target.dataset?.territory);
    if (!direction || !from) { return; }
    event.preventDefault();
    const [, dx, dy] = DIRECTIONS.find(([name]) => name === direction);
    // The nearest territory that way, skipping gaps in the grid.
    const ahead = this.realm.territories
      .filter((t) => (dx !== 0 ? t.y === from.y && Math.sign(t.x - from.x) === dx : t.x === from.x && Math.sign(t.y - from.y) === dy))
      .sort((a, b) => Math.abs(a.x - from.x) + Math.abs(a.y - from.y) - (Math.abs(b.x - from.x) + Math.abs(b.y - from.y)));
    if (ahead.length > 0) { this.select(ahead[0].name, true); }
  }

  onDetailsClick(event) {
    const button = event.target.closest("button");
    if (!button) { return; }
    if (button.dataset.select) { this.select(button.dataset.select, true); }
    else if (button.dataset.command) { this.actions.onCommand(button.dataset.command); }
    else if (button.dataset.fill) { this.actions.onFill(button.dataset.fill); }
  }
}
