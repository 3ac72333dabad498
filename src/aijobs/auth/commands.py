"""`aijobs keys create|list|revoke`: API keys managed from the operator's shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from aijobs.auth.models import Role
from aijobs.auth.repository import ApiKeyService
from aijobs.auth.secrets import webhook_secret
from aijobs.errors import DomainError
from aijobs.resources import dispose_engines, session_scope
from aijobs.settings import get_settings

T = TypeVar("T")


def _run(work: Callable[[ApiKeyService], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            async with session_scope() as session:
                return await work(ApiKeyService(session=session))
        finally:
            await dispose_engines()

    return asyncio.run(main())


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def create(args: argparse.Namespace) -> None:
    settings = get_settings()
    role = Role.ADMIN if args.admin else Role.USER
    row, key = _run(lambda keys: keys.create_key(settings, args.name, role))

    print(f"created {role} key {row.name!r} ({row.prefix}…); it is shown only this once")
    print(f"webhook signing secret: {webhook_secret(settings, row.id)}")
    print(key)


def list_keys(_: argparse.Namespace) -> None:
    rows = _run(lambda keys: keys.list_keys())
    header = ("name", "prefix", "role", "created", "last used", "revoked")
    table = [header] + [
        (
            row.name,
            row.prefix,
            row.role,
            _when(row.created_at),
            _when(row.last_used_at),
            _when(row.revoked_at),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def revoke(args: argparse.Namespace) -> None:
    row = _run(lambda keys: keys.revoke_key(args.name))
    print(f"revoked key {row.name!r} ({row.prefix}…)")


def show_webhook_secret(args: argparse.Namespace) -> None:
    settings = get_settings()
    owner_id = None
    if args.name is not None:
        owner_id = _run(lambda keys: keys.get_by_name(args.name)).id
    print(webhook_secret(settings, owner_id))


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")

    made = actions.add_parser("create", help="make a key and print it once, on the last line")
    made.add_argument("--name", required=True, help="a unique name, up to 64 characters")
    made.add_argument("--admin", action="store_true", help="sees every job and /admin")
    made.set_defaults(run=_guarded(create))

    listed = actions.add_parser("list", help="names, prefixes, roles and last use")
    listed.set_defaults(run=_guarded(list_keys))

    revoked = actions.add_parser("revoke", help="refuse the key from now on")
    revoked.add_argument("--name", required=True)
    revoked.set_defaults(run=_guarded(revoke))

    secret = actions.add_parser("webhook-secret", help="the secret that signs a key's webhooks")
    secret.add_argument("--name", help="the key's name; without it, jobs submitted with auth off")
    secret.set_defaults(run=_guarded(show_webhook_secret))


def _guarded(command: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], None]:
    """Domain errors (a taken name, an unknown key) end the command with one line."""

    def run(args: argparse.Namespace) -> None:
        try:
            command(args)
        except DomainError as exc:
            print(f"aijobs: {exc.detail}", file=sys.stderr)
            raise SystemExit(1) from None

    return run
