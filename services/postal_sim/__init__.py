"""A stand-in for a postal operator (VNPost's public postal service), for `make run` and tests.

It books shipments (idempotently, by the ``Idempotency-Key`` header) and then reports each
parcel's journey to motcua's postal webhooks the way a real operator does: signed, after short
delays, sometimes failing, sometimes twice, sometimes out of order.
"""

PORT = 8105
