"""store, checkpoint: what the credential sink (vault, journal) must know, the instant it happens."""

from __future__ import annotations

from robots.engine.steps.context import StepContext
from robots.errors import BadInput
from robots.language.model import Checkpoint, Store


def store(ctx: StepContext, step: Store) -> None:
    args = step.store
    fields: dict[str, str | None] = {
        "login": ctx.text(args.login) if args.login else None,
        "expires_at": ctx.text(args.expires_at) if args.expires_at else None,
    }
    if args.password:
        if args.password not in ctx.scope:
            raise BadInput(f"{ctx.flow_file}: variable « {args.password} » holds no password yet")
        fields["password"] = str(ctx.scope[args.password])
        if args.shown:
            fields["shown"] = True
    ctx.sink.store(ctx.text(args.key), {k: v for k, v in fields.items() if v is not None})


def checkpoint(ctx: StepContext, step: Checkpoint) -> None:
    ctx.sink.checkpoint(ctx.text(step.checkpoint.key), step.checkpoint.event)
