"""What every endpoint of /api/v1/ shares: the error shape, the shop of the request, throttling,
idempotent writes and cursors. The resources live in ``orders.api`` and ``shipping.api``."""
