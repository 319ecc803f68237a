// Shows, while a criterion's points are typed, what the version's fit total would become.
(function () {
  function projected(form) {
    var criteria = document.querySelector("[data-saved-total]");
    var out = form.querySelector("[data-testid=projected-total]");
    if (!criteria || !out) return;
    var saved = parseInt(criteria.getAttribute("data-saved-total"), 10) || 0;
    var points = parseInt((form.querySelector("[name=points]") || {}).value, 10) || 0;
    var kind = (form.querySelector("[name=kind]") || {}).value;
    var before = parseInt(form.getAttribute("data-original-points") || "0", 10);
    var total = saved - before + (kind === "fit" ? points : 0);
    out.textContent = "Fit total after saving: " + total + " / 100";
  }
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form.criterion-form");
    if (form) projected(form);
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.criterion-form");
    if (form) projected(form);
  });
})();
