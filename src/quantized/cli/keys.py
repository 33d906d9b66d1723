"""``quantized keys``: issue, list and revoke API keys."""

from __future__ import annotations

import click
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.auth.api_keys import ApiKey
from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table, moment
from quantized.errors import QuantizedError
from quantized.services.actors import cli_actor
from quantized.services.durations import parse_duration
from quantized.services.keys import IssuedKey, KeyFields, issue_key, list_keys, public, revoke_key
from quantized.services.teams import find_team, list_teams
from quantized.values import MAX_ID, parse_id, shown


@click.group()
def keys() -> None:
    """Issue, list and revoke API keys."""


def _models(key: ApiKey) -> str:
    return "all" if key.models is None else ",".join(key.models)


@keys.command("create")
@click.option("--name", required=True, help="What the key is for (shown in listings).")
@click.option(
    "--models",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="A model id or glob (openai/*) the key may use; repeat for more. Default: every model.",
)
@click.option("--expires-in", metavar="DURATION", help="Lifetime such as 30d, 12h or 1w.")
@click.option("--admin", is_flag=True, help="Allow administration (catalog and keys).")
@click.option(
    "--rpm", type=click.IntRange(0), help="Requests per minute (0: none; default: gateway's)."
)
@click.option(
    "--tpm", type=click.IntRange(0), help="Tokens per minute (0: none; default: gateway's)."
)
@click.option(
    "--team", metavar="TEAM", help="The team (id or name) it is for: it may use what both allow."
)
@click.option("--person", help="The person it is for (a token subject or an e-mail address).")
def create(
    name: str,
    patterns: tuple[str, ...],
    expires_in: str | None,
    admin: bool,
    rpm: int | None,
    tpm: int | None,
    team: str | None,
    person: str | None,
) -> None:
    """Create a key and print it, alone, on the last line. It is never shown again."""
    try:
        lifetime = parse_duration(expires_in) if expires_in is not None else None
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    split = [p for pattern in patterns for p in pattern.split(",") if p.strip()]

    async def issue(engine: AsyncEngine) -> IssuedKey:
        team_id = (await find_team(engine, team)).id if team is not None else None
        fields = KeyFields(
            name,
            models=split or None,
            expires_at=KeyFields.expiry(lifetime),
            is_admin=admin,
            rpm_limit=rpm,
            tpm_limit=tpm,
            team_id=team_id,
            person=person,
        )
        return await issue_key(engine, cli_actor(), fields)

    issued = with_database(issue, writes=True)
    key = issued.key
    owner = "".join(
        f"; {label}: {value}"
        for label, value in (("team", key.team_id), ("person", key.person))
        if value is not None
    )
    click.echo(
        f"Created API key {key.id} '{key.name}' (models: {_models(key)}; "
        f"admin: {'yes' if key.is_admin else 'no'}; expires: {moment(key.expires_at, 'never')}"
        f"{owner}). Store it now; it is not shown again:",
        err=True,
    )
    click.echo(issued.secret)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(as_json: bool) -> None:
    """List keys (never their secrets)."""

    async def read(engine: AsyncEngine) -> tuple[list[ApiKey], dict[int, str]]:
        return await list_keys(engine), {t.team.id: t.team.name for t in await list_teams(engine)}

    found, team_names = with_database(read)
    if as_json:
        click.echo(orjson.dumps([public(k) for k in found], option=orjson.OPT_INDENT_2).decode())
        return
    echo_table(
        (
            "ID",
            "NAME",
            "PREFIX",
            "CREATED",
            "EXPIRES",
            "REVOKED",
            "ADMIN",
            "RPM",
            "TPM",
            "TEAM",
            "PERSON",
            "MODELS",
        ),
        [
            (
                str(k.id),
                k.name,
                k.prefix + "…",
                moment(k.created_at),
                moment(k.expires_at, "never"),
                moment(k.revoked_at, "no"),
                "yes" if k.is_admin else "no",
                "default" if k.rpm_limit is None else str(k.rpm_limit),
                "default" if k.tpm_limit is None else str(k.tpm_limit),
                "-" if k.team_id is None else team_names.get(k.team_id, str(k.team_id)),
                k.person or "-",
                _models(k),
            )
            for k in found
        ],
    )


@keys.command("revoke")
@click.argument("text", metavar="ID")
def revoke(text: str) -> None:
    """Revoke a key. Running servers reject it within a second or two."""
    key_id = parse_id(text)
    if key_id is None:
        raise Failure(f"no API key with id {shown(text)!r}: ids are 1 to {MAX_ID}")
    key = with_database(lambda engine: revoke_key(engine, cli_actor(), key_id), writes=True)
    click.echo(f"Revoked API key {key.id} '{key.name}' at {moment(key.revoked_at)}.")
