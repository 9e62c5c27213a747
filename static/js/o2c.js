// Small behaviours without inline script (the pages must work under a CSP with no 'unsafe-inline').
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});

// A failed htmx request (a 5xx, or no answer at all) shows what happened where the user acted.
// base.html's htmx-config swaps 4xx bodies (refusals render in place) and not 5xx ones, so without
// this a server error or a dropped connection would leave the page silently as it was.
const FAILURE_CLASS = "request-failure";
const FAILURES = {
  response: (xhr) =>
    `o2c could not do this: the server failed (error ${xhr.status}). ` +
    "Reload the page to see what was saved, then try again.",
  send: () =>
    "o2c could not be reached, so this may not have been done. " +
    "Check your connection, reload the page, then try again.",
  timeout: () =>
    "o2c took too long to answer, so this may not have been done. " +
    "Reload the page to see what was saved, then try again.",
};

function announce(text) {
  const region = document.getElementById("request-status");
  if (region) region.textContent = text;
}

function clearFailures(owner) {
  document.querySelectorAll(`.${FAILURE_CLASS}`).forEach((note) => {
    if (!owner || note.failedElement === owner) note.remove();
  });
  if (!document.querySelector(`.${FAILURE_CLASS}`)) announce("");
}

function showFailure(kind, event) {
  const source = event.detail.elt;
  if (!source || !source.isConnected) return;
  clearFailures(source);
  const note = document.createElement("p");
  note.className = `msg msg-error ${FAILURE_CLASS}`;
  note.setAttribute("role", "alert");
  note.textContent = FAILURES[kind](event.detail.xhr);
  note.failedElement = source;
  // A paragraph cannot sit between table rows or cells: inside a cell it follows the element;
  // a cell gets it inside; a row or a table section puts it above the table.
  if (source.matches("td, th")) {
    source.append(note);
  } else if (source.closest("td, th") || !source.closest("table")) {
    source.after(note);
  } else {
    source.closest("table").before(note);
  }
  announce(note.textContent);
}

document.addEventListener("htmx:responseError", (event) => showFailure("response", event));
document.addEventListener("htmx:sendError", (event) => showFailure("send", event));
document.addEventListener("htmx:timeout", (event) => showFailure("timeout", event));
// The next request that succeeds clears the notes: all of them when the user started it (a
// click, a submit, a change), the element's own when it was a background refresh.
document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.successful) return;
  const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  clearFailures(trigger && trigger.isTrusted ? null : event.detail.elt);
});

// ---------------------------------------------------------------------------------------------
// The work queues (holds, cases, finance approvals, payments): the detail drawer and the keyboard.
// A queue page has rows (<tbody class="work-row">), a drawer (templates/partials/drawer.html) and
// the keys' help (templates/partials/keys_help.html); each queue's markup differs, this does not.
//
// The drawer: an item's link (href and hx-get of the item's page) loads into #drawer-body; here it
// is shown, the item's URL goes into the address bar, and Back, Escape or "Close" hide it again.
// The URL is pushed here rather than by hx-push-url: htmx's history would, on Back, put back a
// snapshot of the rows taken when the drawer opened, undoing on screen what was done since.
const drawer = () => document.getElementById("drawer");
let drawerPath = null; // the hold shown in the drawer, or null when it is closed
let drawerQuiet = false; // the next drawer load is a refresh or a Forward: no new history entry

// ``source``: the element a failed load is reported beside (the row's link), if not the drawer
function openDrawer(path, { push, source }) {
  drawerQuiet = !push;
  const where = source || "#drawer-body";
  htmx.ajax("GET", path, { source: where, target: "#drawer-body", swap: "innerHTML" });
}

function closeDrawer({ fromHistory } = {}) {
  const panel = drawer();
  if (!panel || panel.hidden) return;
  panel.hidden = true;
  document.getElementById("drawer-body").replaceChildren();
  drawerPath = null;
  if (!fromHistory && history.state && history.state.o2cDrawer) history.back();
  focusRow(currentRow());
}

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "drawer-body") return;
  // a form posted in the drawer that answers with the drawer again (a refusal beside its
  // inputs): the drawer stays at its item's URL
  if (event.detail.requestConfig && event.detail.requestConfig.verb !== "get") return;
  const path = event.detail.pathInfo.requestPath;
  const fresh = !drawerQuiet;
  drawerQuiet = false;
  drawer().hidden = false;
  drawerPath = path;
  if (fresh) {
    if (!(history.state && history.state.o2cDrawer)) {
      // Back must land on this page as it is now, not on an htmx snapshot of it (see above)
      history.replaceState({ o2cQueue: true }, "", location.href);
      history.pushState({ o2cDrawer: path }, "", path);
    } else {
      history.replaceState({ o2cDrawer: path }, "", path); // another item while one is open
    }
    const title = document.querySelector("#drawer-body [data-drawer-title]");
    if (title) {
      title.tabIndex = -1;
      title.focus();
    }
  }
});

window.addEventListener("popstate", (event) => {
  if (!drawer()) return;
  if (event.state && event.state.o2cDrawer) openDrawer(event.state.o2cDrawer, { push: false });
  else closeDrawer({ fromHistory: true });
});

// What is done in the drawer (or in the row) changes the item: the open drawer follows. Each
// queue's actions fire their own event (holds-changed, cases-changed, ...), which the drawer names
// in data-refresh-on. An item that has left the user's queues (a case routed to another team)
// fires drawer-close instead: its page would now be refused.
["holds-changed", "cases-changed", "invoices-changed", "payments-changed"].forEach((name) => {
  document.addEventListener(name, () => {
    const panel = drawer();
    if (drawerPath && panel && panel.dataset.refreshOn === name) {
      openDrawer(drawerPath, { push: false });
    }
  });
});
document.addEventListener("drawer-close", () => closeDrawer());

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-drawer-close]")) {
    event.preventDefault();
    closeDrawer();
  } else if (event.target.closest("[data-keys-help]")) {
    document.getElementById("keys-help").showModal();
  }
});

// The rows and the keyboard: j/k move, o or Enter opens, c claims, r releases and e escalates
// (both ask for the reason first), / searches, ? shows the help, Escape closes the drawer. A key
// whose action a row lacks (no claim on a finance row) does nothing.
const ROW = "#results tbody.work-row";
const rows = () => Array.from(document.querySelectorAll(ROW));
let currentId = null; // the row the keys act on, by id: a swapped row is a new element

function currentRow() {
  return (currentId && document.getElementById(currentId)) || null;
}

function focusRow(row) {
  if (!row) return;
  document.querySelectorAll(`${ROW}.current`).forEach((r) => r.classList.remove("current"));
  row.classList.add("current");
  currentId = row.id;
  row.focus({ preventScroll: true });
  row.scrollIntoView({ block: "nearest" });
}

document.addEventListener("focusin", (event) => {
  const row = event.target.closest && event.target.closest(ROW);
  if (row && row.id !== currentId) {
    document.querySelectorAll(`${ROW}.current`).forEach((r) => r.classList.remove("current"));
    row.classList.add("current");
    currentId = row.id;
  }
});

function typing(element) {
  return (
    element &&
    (element.isContentEditable || element.matches("input, textarea, select, [contenteditable]"))
  );
}

function move(step) {
  const all = rows();
  if (!all.length) return;
  const at = all.indexOf(currentRow());
  const next = at === -1 ? (step > 0 ? 0 : all.length - 1) : at + step;
  focusRow(all[Math.max(0, Math.min(all.length - 1, next))]);
}

// Ask for the reason: open the row's menu when the field is in it, focus the field, and let
// Enter press the action's button (not the form's first one).
function askReason(row, action) {
  const button = row.querySelector(`[data-key="${action}"]`);
  if (!button) return;
  const menu = button.closest("details");
  if (menu) menu.open = true;
  const form = button.form;
  form.dataset.enter = action;
  const reason = form.querySelector("input[name=reason]:not([type=hidden])");
  if (reason && reason.offsetParent === null && reason.closest("details")) {
    reason.closest("details").open = true;
  }
  (reason || button).focus();
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !typing(event.target) || event.target.name !== "reason") return;
  const form = event.target.form;
  const button = form && form.dataset.enter && form.querySelector(`[data-key="${form.dataset.enter}"]`);
  if (!button) return;
  event.preventDefault();
  button.click();
});

const KEYS = {
  j: () => move(1),
  k: () => move(-1),
  o: (row) => {
    const link = row && row.querySelector('[data-key="open"]');
    if (!link) return;
    // straight to the drawer rather than by a click: htmx wires a re-rendered row only when it
    // settles (~20 ms after the swap), and a click before that would leave the page
    const path = link.getAttribute("hx-get");
    if (path && drawer()) openDrawer(path, { push: true, source: link });
    else link.click();
  },
  c: (row) => {
    const claim = row && row.querySelector('[data-key="claim"]');
    if (claim) claim.click();
  },
  r: (row) => row && askReason(row, "release"),
  e: (row) => row && askReason(row, "escalate"),
  "/": () => {
    // the queue's search field, or its first filter where it has none (cases)
    const search =
      document.querySelector(".filters input[type=search]") ||
      document.querySelector(".filters input:not([type=hidden]), .filters select");
    if (search) search.focus();
  },
  "?": () => document.getElementById("keys-help").showModal(),
  Escape: () => closeDrawer(),
};

document.addEventListener("keydown", (event) => {
  if (!document.getElementById("keys-help")) return; // not a queue page
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (typing(event.target) || document.querySelector("dialog[open]")) return;
  const row = currentRow();
  // Enter opens the item only from the row itself: on a link or a button it does their own thing
  const handler =
    event.key === "Enter" ? event.target === row && KEYS.o : KEYS[event.key];
  if (!handler) return;
  event.preventDefault();
  handler(row);
});

// After an action the row is a new element: focus goes back to it (by its id) when it was in
// the row, so the keys carry on from there.
let refocus = null; // {id, old}: the row being replaced, while its replacement settles
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  const active = document.activeElement;
  const inRow = !active || active === document.body || target.contains(active);
  if (target.matches && target.matches("tbody.work-row") && inRow) refocus = { id: target.id, old: target };
});
// On the swap itself, not on its settling ~20 ms later: a key pressed in between (r, then the
// reason) has already put focus where the user wants it, and must keep it.
document.addEventListener("htmx:afterSwap", () => {
  // other swaps (the counters, the summary) come and go too: only the row's replacement counts
  const row = refocus && document.getElementById(refocus.id);
  if (!row || row === refocus.old) return;
  const active = document.activeElement;
  const lost = !active || active === document.body || refocus.old.contains(active);
  refocus = null;
  if (lost) focusRow(row);
});
