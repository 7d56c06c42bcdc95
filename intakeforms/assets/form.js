/* intakeforms: progressive enhancement of the HTML form page.
 *
 * The page works without this script: every question is shown, and one that
 * is asked only sometimes says when in a note under its label. With it, each
 * question wrapper carrying data-when is hidden (and its controls disabled,
 * so their answers are not posted) while its condition is false, and the
 * note goes away. It also focuses the error summary and adds a copy button
 * next to the reference on the thank-you page.
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

  const GROUPING = /[ \u00a0\u202f\u2009_]/g;
  const INTEGER = /^[+-]?[0-9]+$/;
  const DECIMAL = /^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)$/;
  const TRUE = new Set(["true", "on", "yes", "1"]);
  const FALSE = new Set(["false", "off", "no", "0"]);

  /** A bounded number from posted text, or undefined as the server would drop it. */
  const parseNumber = (text, whole, min, max) => {
    const plain = text.trim().replace(GROUPING, "");
    const shape = whole ? INTEGER : DECIMAL;
    if (!shape.test(plain) || plain.length > (whole ? 30 : 40)) return undefined;
    const number = Number(plain.replace(",", "."));
    if (!Number.isFinite(number)) return undefined;
    if (min != null && number < min) return undefined;
    if (max != null && number > max) return undefined;
    return number;
  };

  const parseBoolean = (text) => {
    const word = text.trim().toLowerCase();
    if (TRUE.has(word)) return true;
    if (FALSE.has(word)) return false;
    return undefined;
  };

  /**
   * The normalised answer of one question from the strings its controls
   * would post (a text input's value, the checked radios or boxes, the
   * selected option), or undefined when the server would have none.
   */
  const parseAnswer = (type, texts, min, max) => {
    if (type === "multichoice") {
      if (texts.length === 0) return undefined;
      if (min != null && texts.length < min) return undefined;
      if (max != null && texts.length > max) return undefined;
      return texts.slice();
    }
    const text = texts.length ? texts[0] : "";
    if (text.trim() === "") return undefined;
    if (type === "integer") return parseNumber(text, true, min, max);
    if (type === "number") return parseNumber(text, false, min, max);
    if (type === "boolean" || type === "consent") return parseBoolean(text);
    return text;
  };

  const equal = (answer, value, multiple) =>
    multiple ? Array.isArray(answer) && answer.some((a) => a === value) : answer === value;

  /** Whether a data-when condition holds for these answers (name → value). */
  const evaluate = (condition, answers) => {
    if (condition.all) return condition.all.every((c) => evaluate(c, answers));
    if (condition.any) return condition.any.some((c) => evaluate(c, answers));
    const answer = Object.prototype.hasOwnProperty.call(answers, condition.field)
      ? answers[condition.field]
      : undefined;
    const { op, value } = condition;
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

  globalThis.intakeforms = Object.freeze({ evaluate, parseAnswer });

  if (typeof document === "undefined") return;

  const bound = (wrapper, key) => {
    const text = wrapper.dataset[key];
    return text === undefined ? undefined : Number(text);
  };

  const posted = (form, name) =>
    Array.from(form.elements)
      .filter((el) => el.name === name && !el.disabled)
      .flatMap((el) => {
        if (el.type === "checkbox" || el.type === "radio") return el.checked ? [el.value] : [];
        return "value" in el ? [el.value] : [];
      });

  const readAnswers = (form, wrappers) => {
    const answers = {};
    for (const wrapper of wrappers) {
      const { field, type } = wrapper.dataset;
      const answer = parseAnswer(
        type,
        posted(form, field),
        bound(wrapper, "min"),
        bound(wrapper, "max"),
      );
      if (answer !== undefined) answers[field] = answer;
    }
    return answers;
  };

  const setShown = (wrapper, shown) => {
    wrapper.hidden = !shown;
    for (const control of wrapper.querySelectorAll("input, select, textarea, fieldset")) {
      control.disabled = !shown;
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
    const wrappers = Array.from(form.querySelectorAll("[data-field]"));
    const conditions = new Map();
    for (const wrapper of wrappers) {
      if (!wrapper.dataset.when) continue;
      try {
        conditions.set(wrapper, JSON.parse(wrapper.dataset.when));
      } catch {
        continue; // an unreadable condition leaves the question shown, as without JS
      }
      dropNote(wrapper);
    }
    if (conditions.size === 0) return;
    const update = () => {
      // Hiding a question drops its answer, which other conditions may read:
      // repeat until nothing changes (the server's conditions are acyclic).
      for (let round = 0; round <= wrappers.length; round += 1) {
        const answers = readAnswers(form, wrappers);
        let changed = false;
        for (const [wrapper, condition] of conditions) {
          const shown = evaluate(condition, answers);
          if (shown === wrapper.hidden) {
            setShown(wrapper, shown);
            changed = true;
          }
        }
        if (!changed) return;
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

  const start = () => {
    for (const form of document.querySelectorAll("form.intake-form")) enhanceForm(form);
    const summary = document.querySelector("[data-intake-summary]");
    if (summary) enhanceSummary(summary);
    for (const box of document.querySelectorAll(".intake-reference[data-copy]")) {
      enhanceReference(box);
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
