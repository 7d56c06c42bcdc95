"""The agent email and the customer's confirmation: a stored submission →
a complete, safe MIME message.

One concern a module:

- :mod:`~intakeforms.mail.policy`: the strict header policy, addresses,
  file names, message ids, fixed MIME boundaries;
- :mod:`~intakeforms.mail.answers`: the mail's own words and the subject line;
- :mod:`~intakeforms.mail.context`: what a submission's context tells the
  agent (an incomplete contact, the FAQ answers read, answers a link or the
  page gave), for mail and tickets;
- :mod:`~intakeforms.mail.history`: the customer's earlier contacts, as
  agents see them in the mail, tickets and webhooks;
- :mod:`~intakeforms.mail.bodies`: the plain and HTML bodies, one builder;
- :mod:`~intakeforms.mail.agent`: :func:`build_agent_email`;
- :mod:`~intakeforms.mail.customer`: :func:`build_customer_email`, the
  confirmation (a form's ``autorespond``), multipart/alternative alone, with
  none of the customer's own text (see :func:`confirmation_rows`), with
  the link to the status page (:func:`status_url`);
- :mod:`~intakeforms.mail.draft`: :func:`build_draft_email`, the
  "Continue your message later" mail with the link back to a draft.

The answers are written by :mod:`intakeforms.present` (rows, values, file
names, cleaning), as they are for tickets. Which extra headers a form may
add is the form language's question (:mod:`intakeforms.language.headers`).
The HTML parts hold no script, no remote content and no link but the
service's own (the status page, the draft's form). Nothing here
logs: the messages hold sensitive answers that agents need and logs must
never see.
"""

from __future__ import annotations

from intakeforms.language.headers import EXTRA_HEADER_NAME, check_extra_headers
from intakeforms.mail.agent import build_agent_email
from intakeforms.mail.answers import MAIL_TEXTS, agent_subject
from intakeforms.mail.context import CONTEXT_TEXTS, answer_marks, context_notices, context_tags
from intakeforms.mail.customer import build_customer_email, status_url
from intakeforms.mail.draft import DRAFT_TEXTS, build_draft_email, draft_url
from intakeforms.mail.history import (
    HISTORY_TEXTS,
    History,
    HistoryEntry,
    history_items,
    history_notice,
    make_history,
)
from intakeforms.mail.policy import SUBJECT_MAX_LENGTH, customer_address, message_id
from intakeforms.present import MASK, answer_rows, attachment_name, confirmation_rows

__all__ = [
    "CONTEXT_TEXTS",
    "DRAFT_TEXTS",
    "EXTRA_HEADER_NAME",
    "HISTORY_TEXTS",
    "MAIL_TEXTS",
    "MASK",
    "SUBJECT_MAX_LENGTH",
    "History",
    "HistoryEntry",
    "agent_subject",
    "answer_marks",
    "answer_rows",
    "attachment_name",
    "build_agent_email",
    "build_customer_email",
    "build_draft_email",
    "check_extra_headers",
    "confirmation_rows",
    "context_notices",
    "context_tags",
    "customer_address",
    "draft_url",
    "history_items",
    "history_notice",
    "make_history",
    "message_id",
    "status_url",
]
