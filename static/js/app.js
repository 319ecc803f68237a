// While a criterion's points or kind are typed, shows what the version's fit
// total would become once the criterion is saved.
(function () {
  function projected(form) {
    var criteria = document.querySelector("[data-saved-total]");
    var out = form.querySelector("[data-testid=projected-total]");
    if (!criteria || !out) return;
    var saved = parseInt(criteria.getAttribute("data-saved-total"), 10) || 0;
    var pointsInput = form.querySelector("[name=points]");
    var kind = (form.querySelector("[name=kind]") || {}).value;
    var points = parseInt(pointsInput ? pointsInput.value : "", 10);
    if (isNaN(points) || points < 0) points = 0;
    var before = parseInt(form.getAttribute("data-original-points") || "0", 10) || 0;
    var total = saved - before + (kind === "fit" ? points : 0);
    var text = "Fit total after saving: " + total + " / 100";
    if (kind !== "fit") text += " (a disqualifier carries no points)";
    else if (total > 100) text += " (" + (total - 100) + " over)";
    else if (total < 100) text += " (" + (100 - total) + " to go)";
    out.textContent = text;
    out.classList.toggle("ok", total === 100);
    out.classList.toggle("off", total !== 100);
  }
  function track(event) {
    var form = event.target.closest && event.target.closest("form.criterion-form");
    if (form) projected(form);
  }
  document.addEventListener("input", track);
  document.addEventListener("change", track);
})();

// A form with data-confirm asks before it is sent (in place of an inline
// onsubmit handler, which the Content-Security-Policy refuses).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// An inline form swapped into the page takes the focus; Escape (or Cancel)
// closes an edit and gives the focus back to the button that opened it.
var focusAfterSwap = null;
document.addEventListener("click", function (event) {
  var cancel = event.target.closest && event.target.closest("[data-cancel]");
  if (cancel) focusAfterSwap = cancel.getAttribute("data-cancel");
});
document.addEventListener("htmx:afterSettle", function (event) {
  if (focusAfterSwap) {
    var button = document.getElementById(focusAfterSwap);
    focusAfterSwap = null;
    if (button) button.focus();
    return;
  }
  var form = event.target.querySelector && event.target.querySelector("tr.editing form");
  if (!form) return;
  var first = form.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var form = event.target.closest && event.target.closest("form");
  var cancel = form && form.querySelector("[data-cancel]");
  if (!cancel) return;
  event.preventDefault();
  cancel.click();
});
(function () {
  var match = /^#(edit-\d+)$/.exec(window.location.hash);
  if (!match) return;
  function focusIt() {
    var target = document.getElementById(match[1]);
    if (target) target.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusIt);
  else focusIt();
})();

// A box that scrolls sideways (a wide table on a phone, the timeline) can be
// reached and scrolled with the keyboard, and is named after its section.
(function () {
  function label(box) {
    var section = box.closest("section");
    var heading = section && section.querySelector("h2, h3");
    return heading ? heading.textContent.trim() : "Table";
  }
  function mark() {
    document.querySelectorAll(".table-scroll, .timeline").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        if (box.tagName === "DIV") box.setAttribute("role", "region");
        box.setAttribute("aria-label", label(box));
      } else if (!scrolls && box.hasAttribute("data-scrolls")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        box.removeAttribute("data-scrolls");
      }
      if (scrolls) box.setAttribute("data-scrolls", "");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark);
  else mark();
  window.addEventListener("resize", mark);
  document.addEventListener("htmx:afterSettle", mark);
  if (window.ResizeObserver) new ResizeObserver(mark).observe(document.body);
})();

// After a write made with HTMX (a thread resolved, a claim decided, a
// notification read), the navigation's My work and unread counts load again
// from the address templates/reviews/partials/_nav_work.html names.
document.addEventListener("htmx:afterRequest", function (event) {
  var detail = event.detail || {};
  var config = detail.requestConfig || {};
  if (!detail.successful || String(config.verb || "get").toLowerCase() === "get") return;
  var nav = document.getElementById("nav-work");
  var url = nav && nav.getAttribute("data-counts-url");
  if (url && window.htmx) window.htmx.ajax("GET", url, { target: nav, swap: "outerHTML" });
});
