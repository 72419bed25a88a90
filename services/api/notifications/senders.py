"""Sending one notification to one channel: a signed webhook, Slack, or mail over SMTP.

Every failure becomes a `SendError` with a sentence that names no secret; the dispatcher
retries it later.
"""

import asyncio
import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.api.notifications.messages import email_text, header_value
from services.api.notifications.signing import signed_headers
from services.api.outbound_http import post_pinned
from shared.outbound import STRICT, OutboundPolicy, OutboundRefusedError


class SendError(Exception):
    """A channel did not take the notification; the sentence says why."""


async def send(
    channel_type: str,
    config: dict[str, Any],
    body: dict[str, Any],
    *,
    seconds: float,
    outbound: OutboundPolicy = STRICT,
) -> None:
    """Deliver `body` (a payload of messages.py) through one channel, or raise SendError.

    A webhook or Slack URL reaches only addresses `outbound` allows (shared/outbound.py).
    """
    if channel_type == "webhook":
        raw = json.dumps(body, sort_keys=True).encode()
        headers = signed_headers(str(config["secret"]), int(time.time()), raw)
        await _post(str(config["url"]), raw, headers, seconds=seconds, outbound=outbound)
    elif channel_type == "slack":
        raw = json.dumps({"text": f"*{body.get('title', '')}*: {body.get('message', '')}"}).encode()
        headers = {"Content-Type": "application/json"}
        await _post(str(config["url"]), raw, headers, seconds=seconds, outbound=outbound)
    elif channel_type == "email":
        subject, text = email_text(body)
        await asyncio.to_thread(_send_mail, config, subject, text, seconds)
    else:
        raise SendError(f"unknown channel type {channel_type!r}")


async def _post(
    url: str, raw: bytes, headers: dict[str, str], *, seconds: float, outbound: OutboundPolicy
) -> None:
    host = urlsplit(url).netloc.rsplit("@", 1)[-1]  # never a user:password in a message
    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client:
            response = await post_pinned(client, url, outbound, content=raw, headers=headers)
    except OutboundRefusedError as exc:
        raise SendError(str(exc)) from None
    except httpx.TimeoutException:
        raise SendError(f"{host} did not answer within {seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise SendError(f"cannot reach {host} ({type(exc).__name__})") from None
    if not response.is_success:
        raise SendError(f"{host} answered HTTP {response.status_code}")


def _send_mail(config: dict[str, Any], subject: str, text: str, timeout: float) -> None:
    message = EmailMessage()
    message["From"] = header_value(str(config["from_address"]), limit=998)
    message["To"] = header_value(", ".join(config["to"]), limit=998)
    message["Subject"] = header_value(subject)
    message.set_content(text)
    host, port = str(config["host"]), int(config["port"])
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if config.get("starttls", True):
                smtp.starttls(context=_tls_context(config.get("tls_ca")))
                smtp.ehlo()
            if config.get("username"):
                _login(smtp, str(config["username"]), str(config.get("password") or ""))
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise SendError(f"the SMTP server {host}:{port} refused the username or password") from None
    except smtplib.SMTPNotSupportedError:
        raise SendError(f"the SMTP server {host}:{port} does not offer STARTTLS or AUTH") from None
    except ssl.SSLError as exc:
        raise SendError(f"TLS with {host}:{port} failed ({exc.reason})") from None
    except ValueError:
        raise SendError(f"the CA certificate given for {host}:{port} cannot be used") from None
    except smtplib.SMTPException as exc:
        raise SendError(
            f"the SMTP server {host}:{port} refused the mail ({type(exc).__name__})"
        ) from None
    except OSError as exc:
        raise SendError(
            f"cannot reach the SMTP server {host}:{port} ({exc.strerror or type(exc).__name__})"
        ) from None


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    # Some servers hang up on a refused login instead of answering 535: the same refusal.
    try:
        smtp.login(username, password)
    except smtplib.SMTPServerDisconnected:
        raise smtplib.SMTPAuthenticationError(535, b"closed the connection on login") from None


def _tls_context(ca_pem: str | None) -> ssl.SSLContext:
    if ca_pem:
        return ssl.create_default_context(cadata=ca_pem)
    return ssl.create_default_context()
