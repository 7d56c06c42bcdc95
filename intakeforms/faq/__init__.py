"""Self-service answers before a ticket: FAQ files beside the forms, and search in them."""
