"""solve_captcha, read_mail: the two steps of account creation that need more than the page."""

from __future__ import annotations

import re
from datetime import datetime

from loguru import logger

from robots.engine.steps.context import StepContext
from robots.errors import BadInput, NoMessage
from robots.integrations import account_services as services
from robots.language.model import ReadMail, SolveCaptcha
from robots.support.private_files import private_folder


def solve_captcha(ctx: StepContext, step: SolveCaptcha) -> None:
    current = services.current()
    _, image = ctx.locate(step.solve_captcha.image)
    private_folder(current.captcha_dir)
    path = current.captcha_dir / f"captcha-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
    image.screenshot(path=str(path), timeout=ctx.timeout_s * 1000)
    answer = current.captcha.solve(path)
    _, field = ctx.locate(step.solve_captcha.element)
    field.fill(answer, timeout=ctx.timeout_s * 1000)


def read_mail(ctx: StepContext, step: ReadMail) -> None:
    args = step.read_mail
    current = services.current()
    to, link_text, since_text = ctx.text(args.to), ctx.text(args.link), ctx.text(args.since)
    try:
        since = datetime.fromisoformat(since_text) if since_text else datetime.fromtimestamp(0)
    except ValueError:
        raise BadInput(f"{ctx.flow_file}: read_mail « since »: « {since_text} » is not an ISO date-time") from None
    if since.tzinfo is None:
        since = since.astimezone()
    timeout = args.timeout_s if args.timeout_s is not None else current.mail_timeout_s
    logger.info("  attente du courriel pour {} ({} s au plus)", to, timeout)
    try:  # a code e-mail sent to the same address in the same second is not the link's
        mail = current.mailbox().wait(to, since, timeout, matching=lambda m: link_in(m.text, link_text) is not None)
    except NoMessage as exc:
        raise NoMessage(f"{exc} : aucun ne contient de lien « {link_text} »") from None
    url = link_in(mail.text, link_text)
    assert url is not None  # matched above
    ctx.remember_secret(url)  # whoever holds the link can set the password
    ctx.scope[args.into] = url


def link_in(text: str, label: str) -> str | None:
    """The URL of the link « label »: after it in plain text (« label <URL> »), or its href in HTML."""
    plain = re.search(re.escape(label) + r"\W*<?(https?://[^\s<>\"]+)", text, re.IGNORECASE)
    if plain:
        return plain.group(1)
    html = re.search(r'href="(https?://[^"]+)"[^>]*>\s*' + re.escape(label), text, re.IGNORECASE)
    return html.group(1).replace("&amp;", "&") if html else None
