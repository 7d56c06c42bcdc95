"""Delivery: the outbox worker and the places submissions go."""

from intakeforms.delivery.in_process import deliver_in_process
from intakeforms.delivery.worker import MailTransport, Worker, backoff_seconds, mail_transport

__all__ = ["MailTransport", "Worker", "backoff_seconds", "deliver_in_process", "mail_transport"]
