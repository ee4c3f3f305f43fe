// Region form: show only the credential section of the chosen credential type (no inline
// script under our CSP). Without JavaScript both sections show, each headed by its type.
(() => {
  function update(form) {
    const chosen = form.querySelector('input[name="credential_type"]:checked');
    if (!chosen) return;
    form.querySelectorAll("[data-credential]").forEach((section) => {
      section.hidden = section.dataset.credential !== chosen.value;
      section.querySelectorAll("[data-credential-note]").forEach((note) => {
        note.hidden = true; // the radio above says which one this is
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form.region-form").forEach((form) => {
      update(form);
      form.addEventListener("change", (event) => {
        if (event.target.name === "credential_type") update(form);
      });
    });
  });
})();
