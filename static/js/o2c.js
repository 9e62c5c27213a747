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
