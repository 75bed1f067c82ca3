"""Importing the order files TikTok Shop and Shopify export (issue 8). See docs/imports.md.

- ``records``: what a parsed order looks like, whatever the platform (the parsers' output).
- ``reading``, ``shopify``, ``tiktok``: streaming CSV / XLSX rows and turning them into records.
- ``statuses``: the platforms' status texts → Shipshape statuses (plus the shop's own remembered mappings).
- ``applying``: preview (nothing written) and apply (each order whole or not at all), through the services.
- ``tasks``: the Celery task with progress; ``exports``: tracking numbers back to the platform.
"""
