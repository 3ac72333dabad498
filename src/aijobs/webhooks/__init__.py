"""Webhooks: a job's final state POSTed, signed, to the URL its submitter gave."""
