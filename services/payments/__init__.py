"""Payments: the fees of received dossiers and the financial obligations requested during
processing, paid online through a payment platform's signed callback or at the desk."""
