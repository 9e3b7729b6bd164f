"""Notify's settings, from the environment.

* ``NOTIFY_SMTP`` — ``host:port`` of the mail relay (``make run``: a local aiosmtpd on 8025);
  ``NOTIFY_MAIL_FROM`` the sender address.
* ``NOTIFY_SMS_URL`` / ``NOTIFY_SMS_TOKEN``, ``NOTIFY_ZALO_URL`` / ``NOTIFY_ZALO_TOKEN`` — the
  providers' endpoints. Unset in development: the recording channel keeps the messages in memory
  (nothing leaves the machine); outside development an unset provider stops the service.
"""

from __future__ import annotations

import os

from services.notify.channels import Channel, HttpMessageChannel, RecordingChannel, SmtpChannel
from shared.host.settings import is_development, require_secret

DEV_SMTP_PORT = 8025


def channels_from_env() -> dict[str, Channel]:
    env = os.environ
    host, _, port = env.get("NOTIFY_SMTP", f"127.0.0.1:{DEV_SMTP_PORT}").rpartition(":")
    channels: dict[str, Channel] = {
        "email": SmtpChannel(host or "127.0.0.1", int(port), env.get("NOTIFY_MAIL_FROM", "motcua@localhost"))
    }
    for name in ("sms", "zalo"):
        url = env.get(f"NOTIFY_{name.upper()}_URL")
        if url:
            token = require_secret(f"NOTIFY_{name.upper()}_TOKEN", env.get(f"NOTIFY_{name.upper()}_TOKEN"))
            channels[name] = HttpMessageChannel(url, token)
        elif is_development():
            channels[name] = RecordingChannel()
        else:
            require_secret(f"NOTIFY_{name.upper()}_URL", None)
    return channels
