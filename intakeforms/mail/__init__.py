"""The agent email and the customer's confirmation: a stored submission →
a complete, safe MIME message.

One concern a module:

- :mod:`~intakeforms.mail.policy`: the strict header policy, addresses,
  file names, message ids, fixed MIME boundaries;
- :mod:`~intakeforms.mail.answers`: the mail's own words and the subject line;
- :mod:`~intakeforms.mail.context`: what a submission's context tells the
  agent (an incomplete contact, the FAQ answers read), for mail and tickets;
- :mod:`~intakeforms.mail.bodies`: the plain and HTML bodies, one builder;
- :mod:`~intakeforms.mail.agent`: :func:`build_agent_email`;
- :mod:`~intakeforms.mail.customer`: :func:`build_customer_email`, the
  confirmation (a form's ``autorespond``), multipart/alternative alone, with
  none of the customer's own text (see :func:`confirmation_rows`).

The answers are written by :mod:`intakeforms.present` (rows, values, file
names, cleaning), as they are for tickets. Which extra headers a form may
add is the form language's question (:mod:`intakeforms.language.headers`).
The HTML parts hold no script, no remote content and no link. Nothing here
logs: the messages hold sensitive answers that agents need and logs must
never see.
"""

from __future__ import annotations

from intakeforms.language.headers import EXTRA_HEADER_NAME, check_extra_headers
from intakeforms.mail.agent import build_agent_email
from intakeforms.mail.answers import MAIL_TEXTS, agent_subject
from intakeforms.mail.context import CONTEXT_TEXTS, context_notices, context_tags
from intakeforms.mail.customer import build_customer_email
from intakeforms.mail.policy import SUBJECT_MAX_LENGTH, customer_address, message_id
from intakeforms.present import MASK, answer_rows, attachment_name, confirmation_rows

__all__ = [
    "CONTEXT_TEXTS",
    "EXTRA_HEADER_NAME",
    "MAIL_TEXTS",
    "MASK",
    "SUBJECT_MAX_LENGTH",
    "agent_subject",
    "answer_rows",
    "attachment_name",
    "build_agent_email",
    "build_customer_email",
    "check_extra_headers",
    "confirmation_rows",
    "context_notices",
    "context_tags",
    "customer_address",
    "message_id",
]
