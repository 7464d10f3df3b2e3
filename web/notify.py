"""Optional e-mail for notifications, through SMTP, when configured.

CIVICFLOW_SMTP_HOST      SMTP server; unset: no e-mail (the in-app notification centre always works)
CIVICFLOW_SMTP_PORT      default 25
CIVICFLOW_SMTP_FROM      sender address (default civicflow@localhost)
CIVICFLOW_BASE_URL       prefix for links in e-mails, e.g. https://civicflow.example.gov.cn (default: none)

The engine calls `Mailer.deliver` after the operation's transaction has committed. It looks up the recipients'
addresses and hands the sending to a background task, so a slow or failing SMTP server never delays or breaks
the operation; failures are logged. `flush()` waits for pending sends (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from engine.models import Notification, User

log = logging.getLogger("civicflow.mail")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "civicflow@localhost"
    base_url: str = ""
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        env = os.environ if env is None else env
        host = env.get("CIVICFLOW_SMTP_HOST", "").strip()
        if not host:
            return None
        return cls(host, int(env.get("CIVICFLOW_SMTP_PORT", "25") or 25),
                   env.get("CIVICFLOW_SMTP_FROM", "").strip() or "civicflow@localhost",
                   env.get("CIVICFLOW_BASE_URL", "").strip().rstrip("/"))


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._pending: set[asyncio.Task[None]] = set()

    def message(self, note: Notification, address: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[民政业务流程平台] {note.title}"
        msg["From"] = self.settings.sender
        msg["To"] = address
        link = f"{self.settings.base_url}{note.link}" if note.link else ""
        msg.set_content("\n\n".join(p for p in (note.body, f"查看:{link}" if link else "",
                                                "—— 此邮件由系统自动发送,请勿回复。") if p))
        return msg

    async def deliver(self, notes: Sequence[Notification]) -> None:
        """Engine notification sink: queue one e-mail per notification whose recipient has an address."""
        usernames = sorted({n.recipient for n in notes})
        rows = await User.filter(username__in=usernames, is_active=True).values_list("username", "email",
                                                                                     "email_arrivals")
        addresses = {str(u): str(e) for u, e, _ in rows if e}
        no_arrivals = {str(u) for u, _, wants in rows if not wants}  # turned off in 通知中心
        messages = [self.message(n, addresses[n.recipient]) for n in notes if n.recipient in addresses
                    and not (n.kind == "task.arrived" and n.recipient in no_arrivals)]
        if not messages:
            return
        task = asyncio.create_task(self._send(messages))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _send(self, messages: list[EmailMessage]) -> None:
        try:
            await asyncio.to_thread(self._send_blocking, messages)
        except Exception:  # noqa: BLE001 - e-mail is best effort; the in-app notification exists already
            log.exception("sending %d notification e-mail(s) via %s:%s failed", len(messages), self.settings.host,
                          self.settings.port)

    def _send_blocking(self, messages: list[EmailMessage]) -> None:
        with smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.settings.timeout) as smtp:
            for msg in messages:
                smtp.send_message(msg)


def install_mailer(engine: Any) -> Mailer | None:
    """For processes without the web app (the standalone scheduler worker): e-mail the engine's notifications too."""
    settings = SmtpSettings.from_env()
    if settings is None:
        return None
    mailer = Mailer(settings)
    engine.notification_sinks.append(mailer.deliver)
    return mailer
