"""The words of the widgets' own interface, translated with the catalogs.

``spec.json`` carries them as ``texts`` in the request's language, so the
widget script holds no translations of its own.

The ``e_…`` texts are the validation messages the widget can say without
asking the server: the same templates as :data:`intakeforms.validate.MESSAGES`,
so the customer reads the same words either way. A message that needs a
region's example or a date formatted the server's way is left out; for those
the widget shows what ``POST /forms/{form}/validate`` answers.
"""

from __future__ import annotations

from intakeforms.i18n import N_, gettext_for
from intakeforms.present.values import VALUE_TEXTS
from intakeforms.validate import LABELLED_MESSAGES, MESSAGES
from intakeforms.web.resume import RESUME_TEXTS

__all__ = ["BROWSER_CHECKED", "WIDGET_TEXTS", "widget_texts"]

#: Data error codes whose message the widget writes itself.
BROWSER_CHECKED = (
    "required",
    "consent_required",
    "control_characters",
    "too_short",
    "too_long",
    "pattern",
    "not_integer",
    "not_number",
    "too_small",
    "too_large",
    "not_boolean",
    "invalid_choice",
    "too_few_choices",
    "too_many_choices",
    "invalid_email",
    "invalid_phone",
    "invalid_url",
    "invalid_date",
    "invalid_time",
    "invalid_vin",
    "invalid_national_id",
    "too_many_files",
    "file_type",
    "file_too_large",
)

#: Every text of the widgets' chrome, by the key the script uses.
WIDGET_TEXTS: dict[str, str] = {
    # Translators: the launcher button of the chat pop-up.
    "open": N_("Contact us"),
    "close": N_("Close"),
    "send": N_("Send"),
    "yes": VALUE_TEXTS["yes"],
    "no": VALUE_TEXTS["no"],
    # Translators: goes back to the previous question of the chat.
    "back": N_("Back"),
    # Translators: sends the answer to one question of the chat.
    "next": N_("Next"),
    # Translators: under the chat's box for a longer answer.
    "keys": N_("Enter sends, Shift+Enter starts a new line."),
    # Translators: leaves an optional question of the chat unanswered.
    "skip": N_("Skip"),
    # Translators: confirms the picks of a question with several answers.
    "confirm": N_("Confirm"),
    # Translators: next to an earlier answer in the chat, to answer again.
    "edit": N_("Change"),
    # Translators: turns the chat into a classic form with every question.
    "full": N_("Use the full form instead"),
    # The inline form's steps (type: page), as on the form page.
    "step": N_("Step {step} of {steps}"),
    # Translators: the chat's progress, like "Question 3 of 9".
    "progress": N_("Question {n} of {total}"),
    # Translators: the chat's first question when the page did not name a form;
    # the answers are the forms' titles.
    "topic": N_("What is your message about?"),
    "review": N_("Please check your answers before sending."),
    # Translators: an optional question the customer skipped, in the summary.
    "skipped": N_("Not answered"),
    "thanks": N_("Thank you"),
    "received": N_("We have received your message. Our team will answer you by email."),
    "reference": N_("Your reference"),
    "keep": N_("Keep the reference if you contact us about this again."),
    "problem": N_("There is a problem"),
    "required": N_("(required)"),
    "choose": N_("Choose one"),
    "network": N_("We could not reach the service. Check your connection and try again."),
    # Translators: the chat's first question, before the form's own: the
    # customer writes freely, and answers from the FAQ are looked up.
    "words": N_("What is it about? Tell us in your own words."),
    # Translators: above the list of topics, under the chat's first question.
    "other": N_("Or choose a topic"),
    # Translators: in the chat, above the FAQ answers found for the customer's words.
    "found": N_("Answers found: {n}"),
    # Translators: in the chat, when the FAQ has no answer to the customer's words.
    "none": N_("We found no ready answer to that, so let us go on."),
    # Translators: a button under the FAQ answers in the chat: the customer is done.
    "helped": N_("This answered my question"),
    # Translators: a button under the FAQ answers in the chat: on to the form.
    "more": N_("I still need to contact you"),
    # Translators: the chat's last message after an FAQ answer helped.
    "glad": N_("Good to hear that we could help. You can close this window now."),
    # Translators: the chat proposes the form the customer's words seem to be about.
    "isit": N_("Is it about: {title}?"),
    # Translators: a button of the chat: send what is answered so far, and a
    # person of the team continues.
    "person": N_("Talk to a person"),
    "reach": N_("A person from our team will continue. How can we reach you?"),
    # Translators: on the chat's thank-you message after "Talk to a person".
    "handed": N_("A person from our team will continue from here."),
    # Translators: above the FAQ answers suggested while the customer types.
    "maybe": N_("These answers may help:"),
    # The words of "Continue by email later", as on the form page: the
    # button, the question, and the answer once the link is on its way.
    "later": N_("Continue by email later"),
    "address": N_("Your email address"),
    "sent": N_("We sent a link to {email}. It works for 7 days."),
    # Under an answer that a signed link gave and locked (as on the form page).
    "locked": N_("Given by your link; it cannot be changed here."),
    # Why a link could not fill the form (as on the form page); the form is empty.
    **{f"p_{key}": RESUME_TEXTS[key] for key in ("damaged", "expired", "draft_expired", "used")},
    **{f"e_{code}": MESSAGES[code] for code in BROWSER_CHECKED},
    # Worded as the server words them: "Täytä kohta ”{label}”."
    **{f"e_{code}": text for code, text in LABELLED_MESSAGES.items()},
}


def widget_texts(locale: str) -> dict[str, str]:
    """``WIDGET_TEXTS`` in ``locale``."""
    return {key: gettext_for(text, locale) for key, text in WIDGET_TEXTS.items()}
