/* intakeforms: progressive enhancement of the HTML form page.
 *
 * The page works without this script: every question is shown, and one that
 * is asked only sometimes says when in a note under its label. With it, each
 * question wrapper carrying data-when is hidden (and its controls disabled,
 * so their answers are not posted) while its condition is false, and the
 * note goes away. It also focuses the error summary, adds a copy button
 * next to the reference on the thank-you page, and takes a link's or a
 * draft's token (?t=, ?d=) out of a form page's address.
 *
 * How evaluate() mirrors intakeforms.language.conditions.evaluate:
 * - The server judges a condition on the *normalised* answers of the
 *   questions it asks. An answer that is blank, not valid or out of bounds
 *   is absent there, and so is the answer of a question that is not asked.
 *   parseAnswer() reads what the browser would post the same way:
 *   integer/number text as intakeforms/fields/numbers.py does (spaces,
 *   no-break and thin spaces and "_" group digits, a comma may be the
 *   decimal sign, bounds from data-min/data-max), yes/no radios and consent
 *   boxes as booleans (fields/choice.py check_boolean), a multichoice as its
 *   picked keys (absent when fewer than data-min or more than data-max).
 *   Disabled (hidden) controls post nothing, so their answers are absent.
 * - A condition on an absent answer is false; "ne" is the negation of "eq".
 * - For a multichoice ("multiple": true), eq/in mean "is among the picks".
 * - true never equals 1 (=== keeps them apart, as _same does in Python).
 * tests/test_render.py runs evaluate() and parseAnswer() in Node on the
 * cases of CONDITION_CASES and compares them with the Python functions.
 */
(() => {
  "use strict";

  // <shared-rules> widgets/widget.js is served with this part spliced in
  // where it says so (intakeforms/web/widgets.py): the hosted form and the
  // widgets read answers and judge conditions with this one source.
  const GROUPING = /[ \u00a0\u202f\u2009_]/g;
  const INTEGER = /^[+-]?[0-9]+$/;
  const DECIMAL = /^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)$/;
  const TRUE = ["true", "on", "yes", "1"];
  const FALSE = ["false", "off", "no", "0"];

  /** A bounded number from posted text, or undefined as the server would drop it. */
  const parseNumber = (text, whole, min, max) => {
    const plain = text.trim().replace(GROUPING, "");
    if (!(whole ? INTEGER : DECIMAL).test(plain) || plain.length > (whole ? 30 : 40)) return;
    const number = Number(plain.replace(",", "."));
    const inside = (min == null || number >= min) && (max == null || number <= max);
    return Number.isFinite(number) && inside ? number : undefined;
  };

  const parseBoolean = (text) => {
    const word = text.trim().toLowerCase();
    return TRUE.includes(word) ? true : FALSE.includes(word) ? false : undefined;
  };

  /**
   * The normalised answer of one question from the strings its controls
   * would post (a text input's value, the checked radios or boxes, the
   * selected option), or undefined when the server would have none.
   */
  const parseAnswer = (type, texts, min, max) => {
    if (type === "multichoice") {
      const n = texts.length;
      const inside = (min == null || n >= min) && (max == null || n <= max);
      return n && inside ? texts.slice() : undefined;
    }
    const text = texts.length ? texts[0] : "";
    if (text.trim() === "") return;
    if (type === "integer" || type === "number") {
      return parseNumber(text, type === "integer", min, max);
    }
    if (type === "boolean" || type === "consent") return parseBoolean(text);
    return text;
  };

  const equal = (answer, value, multiple) =>
    multiple ? Array.isArray(answer) && answer.some((a) => a === value) : answer === value;

  /** Whether a data-when condition holds for these answers (name → value). */
  const evaluate = (condition, answers) => {
    if (condition.all) return condition.all.every((c) => evaluate(c, answers));
    if (condition.any) return condition.any.some((c) => evaluate(c, answers));
    const { field, op, value } = condition;
    const answer = {}.hasOwnProperty.call(answers, field) ? answers[field] : undefined;
    const multiple = Boolean(condition.multiple);
    if (op === "ne") return !(answer != null && equal(answer, value, multiple));
    if (answer == null) return false;
    if (op === "eq") return equal(answer, value, multiple);
    if (op === "in") return value.some((v) => equal(answer, v, multiple));
    if (typeof answer !== "number") return false;
    if (op === "gt") return answer > value;
    if (op === "gte") return answer >= value;
    if (op === "lt") return answer < value;
    return answer <= value;
  };

  /**
   * The questions asked, in order: those whose condition (`when`) holds on
   * the answers of the questions asked, `value(question)` being the answer
   * of each as the server would normalise it.
   */
  const asked = (questions, value) => {
    let shown = questions;
    // Hiding a question drops its answer, which other conditions may read:
    // repeat until nothing changes (the server's conditions are acyclic).
    for (let round = 0; round <= questions.length; round++) {
      const answers = {};
      for (const q of shown) {
        const v = value(q);
        if (v != null) answers[q.name] = v;
      }
      const next = questions.filter((q) => !q.when || evaluate(q.when, answers));
      if (next.length === shown.length && next.every((q, i) => q === shown[i])) break;
      shown = next;
    }
    return shown;
  };
  // </shared-rules>

  globalThis.intakeforms = Object.freeze({ evaluate, parseAnswer, asked });

  if (typeof document === "undefined") return;

  const bound = (wrapper, key) => {
    const text = wrapper.dataset[key];
    return text === undefined ? undefined : Number(text);
  };

  // What the controls of a question would post were it shown: a hidden
  // question's controls are disabled, and asked() leaves its answer out.
  const posted = (form, name) =>
    Array.from(form.elements)
      .filter((el) => el.name === name)
      .flatMap((el) => {
        if (el.type === "checkbox" || el.type === "radio") return el.checked ? [el.value] : [];
        return "value" in el ? [el.value] : [];
      });

  const setShown = (wrapper, shown) => {
    wrapper.hidden = !shown;
    for (const control of wrapper.querySelectorAll("input, select, textarea, fieldset")) {
      // A locked answer's controls stay disabled: its hidden inputs post it.
      if (!control.hasAttribute("data-locked")) control.disabled = !shown;
    }
  };

  // The note "Answer only if …" is for pages without this script: with it,
  // the question simply appears when it applies.
  const dropNote = (wrapper) => {
    const note = wrapper.querySelector(".intake-when[id]");
    if (!note) return;
    for (const el of wrapper.querySelectorAll("[aria-describedby]")) {
      const ids = el
        .getAttribute("aria-describedby")
        .split(/\s+/)
        .filter((id) => id && id !== note.id);
      if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
      else el.removeAttribute("aria-describedby");
    }
    note.remove();
  };

  const enhanceForm = (form) => {
    const questions = [];
    for (const wrapper of form.querySelectorAll("[data-field]")) {
      const { field, type, when } = wrapper.dataset;
      const [min, max] = [bound(wrapper, "min"), bound(wrapper, "max")];
      const question = { name: field, type, min, max, wrapper, when: null };
      questions.push(question);
      if (!when) continue;
      try {
        question.when = JSON.parse(when);
      } catch {
        continue; // an unreadable condition leaves the question shown, as without JS
      }
      dropNote(wrapper);
    }
    if (!questions.some((q) => q.when)) return;
    const value = (q) => parseAnswer(q.type, posted(form, q.name), q.min, q.max);
    const update = () => {
      const shown = new Set(asked(questions, value));
      for (const q of questions) {
        if (q.when && shown.has(q) === q.wrapper.hidden) setShown(q.wrapper, shown.has(q));
      }
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    // Going back to the page may restore other answers than those rendered.
    window.addEventListener("pageshow", update);
    update();
  };

  const enhanceReference = (box) => {
    const value = box.querySelector(".intake-reference__value");
    if (!value || !navigator.clipboard) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "intake-button intake-button--secondary intake-copy";
    button.textContent = box.dataset.copy;
    const status = document.createElement("span");
    status.className = "intake-visually-hidden";
    status.setAttribute("role", "status");
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(value.textContent.trim()).then(
        () => {
          status.textContent = box.dataset.copied;
        },
        () => {
          // No permission: the reference stays selectable by hand.
          window.getSelection()?.selectAllChildren(value);
        },
      );
    });
    box.append(" ", button, status);
  };

  // A summary link moves to its question with the label in view, not just
  // the input at the very top of the window (as GOV.UK's summary does).
  const enhanceSummary = (summary) => {
    summary.addEventListener("click", (event) => {
      const link = event.target.closest("a[href^='#']");
      const target = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
      const question = target && target.closest(".intake-field");
      if (!question || question.hidden) return;
      event.preventDefault();
      question.scrollIntoView();
      target.focus({ preventScroll: true });
    });
    summary.focus();
  };

  // The form holds the token in a hidden input: an address the customer
  // shares or bookmarks should not.
  const dropTokens = () => {
    const url = new URL(location.href);
    if (!url.searchParams.has("t") && !url.searchParams.has("d")) return;
    url.searchParams.delete("t");
    url.searchParams.delete("d");
    history.replaceState(history.state, "", url);
  };

  const start = () => {
    const forms = document.querySelectorAll("form.intake-form");
    if (forms.length) dropTokens();
    for (const form of forms) enhanceForm(form);
    const summary = document.querySelector("[data-intake-summary]");
    if (summary) enhanceSummary(summary);
    for (const box of document.querySelectorAll(".intake-reference[data-copy]")) {
      enhanceReference(box);
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
