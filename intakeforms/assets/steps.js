/* intakeforms: a form in steps (type: page) shows one step at a time.
 *
 * Loaded only by a form page with more than one step, after form.js and
 * live.js. Without it every step shows, one after another, and the form is
 * sent whole. With it, one step shows with Back and Next (Send on the
 * last); Next first checks the step's questions through /validate (live.js's
 * check) and stays, showing the errors and focusing the first, when the
 * server refuses one; if the check cannot be made, it goes on (the server
 * checks everything on send). The focus moves to the step's heading, which
 * says "Step 2 of 3". A step whose questions are all hidden by their
 * conditions is passed over. A page the server sent back with errors opens
 * on the first step with an error, and a link of its error summary opens
 * the step of its question. Enter in a text box of an earlier step goes to
 * the next step instead of sending.
 */
(() => {
  "use strict";

  if (typeof document === "undefined") return;

  const enhance = (form) => {
    const steps = Array.from(form.querySelectorAll("[data-step]"));
    const actions = form.querySelector(".intake-actions");
    const send = actions?.querySelector("button[type=submit]");
    const live = globalThis.intakeformsLive;
    if (steps.length < 2 || !send || !live) return;
    const button = (text, name) => {
      const el = document.createElement("button");
      el.type = "button";
      el.className = `intake-button intake-step__${name}`;
      el.textContent = text;
      return el;
    };
    const back = button(form.dataset.stepsBack, "back");
    back.classList.add("intake-button--secondary");
    const next = button(form.dataset.stepsNext, "next");
    actions.prepend(back);
    send.before(next);
    actions.classList.add("intake-actions--steps");

    const questions = (step) => Array.from(step.querySelectorAll("[data-field]"));
    // Passed over: a step that asks nothing now (its questions hidden).
    const empty = (step) => {
      const asked = questions(step);
      return asked.length > 0 && asked.every((q) => q.hidden);
    };
    let current = 0;
    const show = (index, focus) => {
      current = index;
      steps.forEach((step, i) => {
        step.hidden = i !== index;
      });
      const later = steps.slice(index + 1).some((step) => !empty(step));
      const earlier = steps.slice(0, index).some((step) => !empty(step));
      back.hidden = !earlier;
      next.hidden = !later;
      send.hidden = later;
      if (focus) steps[index].querySelector(".intake-step__title")?.focus();
    };
    const move = (by) => {
      let i = current + by;
      while (i > 0 && i < steps.length - 1 && empty(steps[i])) i += by;
      if (i >= 0 && i < steps.length) show(i, true);
    };

    let checking = false;
    const forward = async () => {
      if (checking) return;
      checking = true;
      next.setAttribute("aria-disabled", "true");
      try {
        const found = await live.check(form);
        const wrong = [];
        for (const q of questions(steps[current])) {
          if (q.hidden || q.dataset.type === "file") continue;
          live.show(form, q, found || {});
          if (found && found[q.dataset.field]) wrong.push(q);
        }
        if (wrong.length) {
          wrong[0].querySelector("input:not([type=hidden]), select, textarea")?.focus();
          return;
        }
        move(1);
      } finally {
        checking = false;
        next.removeAttribute("aria-disabled");
      }
    };
    next.addEventListener("click", forward);
    back.addEventListener("click", () => move(-1));
    // Enter in a text box sends the form: before the last step it goes on.
    form.addEventListener("submit", (event) => {
      if (send.hidden) {
        event.preventDefault();
        forward();
      }
    });
    // The error summary's links lead into any step.
    const summary = document.querySelector("[data-intake-summary]");
    summary?.addEventListener(
      "click",
      (event) => {
        const link = event.target.closest("a[href^='#']");
        const target = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
        const step = target?.closest("[data-step]");
        if (step) show(steps.indexOf(step), false);
      },
      true,
    );
    const erred = form.querySelector(".intake-field--error");
    const first = erred ? steps.indexOf(erred.closest("[data-step]")) : 0;
    show(Math.max(first, 0), false);
  };

  const start = () => {
    for (const form of document.querySelectorAll("form.intake-form[data-steps-next]")) {
      enhance(form);
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
