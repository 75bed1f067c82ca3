"""The Shipshape project package and its tenant app (shops, members, customers)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
