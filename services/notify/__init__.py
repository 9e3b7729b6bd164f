"""Notifications to citizens: a supplement requested, an apology and new date, the result ready,
a failed delivery, told through the channel the citizen chose at receipt (e-mail, SMS, Zalo)."""
