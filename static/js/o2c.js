// Small behaviours without inline script (the pages must work under a CSP with no 'unsafe-inline').
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
