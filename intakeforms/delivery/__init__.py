"""Delivery: the outbox worker and the places submissions go."""

from intakeforms.delivery.worker import MailTransport, Worker, backoff_seconds, mail_transport

__all__ = ["MailTransport", "Worker", "backoff_seconds", "mail_transport"]
