"""The words of the widgets' own interface, translated with the catalogs.

``spec.json`` carries them as ``texts`` in the request's language, so the
widget script holds no translations of its own.
"""

from __future__ import annotations

from intakeforms.i18n import N_, gettext_for

__all__ = ["WIDGET_TEXTS", "widget_texts"]

#: Every text of the widgets' chrome, by the key the script uses.
WIDGET_TEXTS: dict[str, str] = {
    # Translators: the launcher button of the chat pop-up.
    "open": N_("Contact us"),
    "close": N_("Close"),
    "send": N_("Send"),
    "yes": N_("Yes"),
    "no": N_("No"),
}


def widget_texts(locale: str) -> dict[str, str]:
    """``WIDGET_TEXTS`` in ``locale``."""
    return {key: gettext_for(text, locale) for key, text in WIDGET_TEXTS.items()}
