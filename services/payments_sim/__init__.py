"""A stand-in for a payment platform (the national payment platform of the public service portal),
for `make run` and tests.

It opens a transaction per charge (idempotently, by the ``Idempotency-Key`` header), "pays" it
after a short delay as the citizen would, and reports the result to motcua's payments callback
the way a real platform does: signed, retried until answered, sometimes twice.
"""

PORT = 8108
