/* intakeforms: "Continue by email later" on the HTML form page.
 *
 * Loaded by a form page of a service that can mail links (INTAKE_PUBLIC_URL
 * is set). The page carries the disclosure, hidden: a button that opens a
 * small form asking for an email address, an error message and a polite live
 * region, with data-intake-drafts (the URL of POST /forms/{form}/drafts),
 * data-sent and data-failed (the words said after it). This script shows it.
 *
 * Sending posts {"data": the answers so far, as the form would post them,
 * "email"} as JSON. 202: the disclosure closes and the live region says
 * where the link went. 422 for the address: the message is shown at the
 * input, which gets the focus. Anything else (a failed network, a rate
 * limit): the live region says to try later. It never stands in the way:
 * the form itself is not touched, and is sent as it would be without it.
 */
(() => {
  "use strict";

  /** The answers as the form would post them: no files, no service fields
   * (they start with "_"), blanks left out, a multichoice always a list. */
  const answers = (form) => {
    const lists = new Set(
      Array.from(form.querySelectorAll("[data-type='multichoice']"), (w) => w.dataset.field),
    );
    const data = {};
    for (const [name, value] of new FormData(form)) {
      if (name.startsWith("_") || typeof value !== "string" || !value.trim()) continue;
      if (lists.has(name)) (data[name] ||= []).push(value);
      else data[name] = value;
    }
    return data;
  };

  const enhance = (box, form) => {
    const toggle = box.querySelector("[aria-controls]");
    const panel = document.getElementById(toggle.getAttribute("aria-controls"));
    const email = panel.querySelector("input[type='email']");
    const error = panel.querySelector(".intake-error-message");
    const status = box.querySelector("[role='status']");
    const hint = email.getAttribute("aria-describedby");
    let busy = false;

    const open = (shown) => {
      panel.hidden = !shown;
      toggle.setAttribute("aria-expanded", String(shown));
    };

    const problem = (message) => {
      error.hidden = !message;
      error.querySelector("[data-message]").textContent = message;
      if (message) {
        email.setAttribute("aria-invalid", "true");
        email.setAttribute("aria-describedby", `${hint} ${error.id}`);
        email.focus();
      } else {
        email.removeAttribute("aria-invalid");
        email.setAttribute("aria-describedby", hint);
      }
    };

    toggle.addEventListener("click", () => {
      const shown = panel.hidden;
      open(shown);
      if (shown) {
        status.textContent = "";
        email.focus();
      }
    });

    panel.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      const address = email.value.trim();
      problem("");
      status.textContent = "";
      try {
        const answer = await fetch(box.dataset.intakeDrafts, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ data: answers(form), email: address }),
        });
        if (answer.status === 202) {
          open(false);
          toggle.focus();
          status.textContent = box.dataset.sent.replace("{email}", address);
          return;
        }
        if (answer.status === 422) {
          const body = await answer.json();
          const wrong = (body.errors || []).find((e) => e.field === "email");
          if (wrong) return problem(wrong.message);
        }
        status.textContent = box.dataset.failed;
      } catch {
        status.textContent = box.dataset.failed;
      } finally {
        busy = false;
      }
    });

    box.hidden = false;
  };

  const start = () => {
    const box = document.querySelector("[data-intake-drafts]");
    const form = document.querySelector("form.intake-form");
    if (box && form) enhance(box, form);
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
