// A "print" button without an inline handler (the Content-Security-Policy forbids those).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
