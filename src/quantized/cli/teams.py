"""``quantized teams``: teams, the models they may use, and the people in them.

TEAM is a team's id or its name (names are never only digits).
"""

from __future__ import annotations

from typing import Any

import click
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table, moment
from quantized.services import teams as team_admin
from quantized.services.actors import cli_actor
from quantized.store.teams import TeamRow

MODELS_HELP = "A model id or glob (openai/*) the team may use; repeat for more."


@click.group()
def teams() -> None:
    """Teams: the models their members and keys may use, and the people in them."""


def _models(team: TeamRow) -> str:
    return "all" if team.models is None else ",".join(team.models) or "none"


def _split(patterns: tuple[str, ...]) -> list[str]:
    return [p for pattern in patterns for p in pattern.split(",") if p.strip()]


def _json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


@teams.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(as_json: bool) -> None:
    """List teams, with their numbers of members and keys (not revoked)."""
    found = with_database(team_admin.list_teams)
    if as_json:
        _json([t.public() for t in found])
        return
    echo_table(
        ("ID", "NAME", "MEMBERS", "KEYS", "CREATED", "MODELS"),
        [
            (
                str(t.team.id),
                t.team.name,
                str(t.member_count),
                str(t.key_count),
                moment(t.team.created_at),
                _models(t.team),
            )
            for t in found
        ],
    )


@teams.command("create")
@click.argument("name")
@click.option("--models", "patterns", multiple=True, metavar="PATTERN", help=MODELS_HELP)
def create(name: str, patterns: tuple[str, ...]) -> None:
    """Create a team named NAME (without --models it may use every model)."""
    split = _split(patterns)
    created = with_database(
        lambda engine: team_admin.create_team(engine, cli_actor(), name, split or None),
        writes=True,
    )
    team = created.team
    click.echo(f"Created team {team.id} '{team.name}' (models: {_models(team)}).")


@teams.command("show")
@click.argument("team")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(team: str, as_json: bool) -> None:
    """Show TEAM: its models, members and keys (not revoked)."""

    async def read(engine: AsyncEngine) -> team_admin.TeamDetail:
        found = await team_admin.find_team(engine, team)
        return await team_admin.get_team(engine, found.id)

    detail = with_database(read)
    if as_json:
        _json(detail.public())
        return
    row = detail.team
    click.echo(f"Team {row.id} '{row.name}', created {moment(row.created_at)}")
    click.echo(f"models:  {_models(row)}")
    click.echo(f"members: {', '.join(m.person for m in detail.members) or '-'}")
    click.echo(f"keys:    {', '.join(map(str, detail.key_ids)) or '-'}")


@teams.command("update")
@click.argument("team")
@click.option("--name", help="A new name.")
@click.option("--models", "patterns", multiple=True, metavar="PATTERN", help=MODELS_HELP)
@click.option("--all-models", is_flag=True, help="Let the team use every model.")
def update(team: str, name: str | None, patterns: tuple[str, ...], all_models: bool) -> None:
    """Change TEAM's name or models."""
    if patterns and all_models:
        raise Failure("give --models or --all-models, not both")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if patterns:
        changes["models"] = _split(patterns)
    elif all_models:
        changes["models"] = None
    if not changes:
        raise Failure("nothing to change: give --name, --models or --all-models")

    async def write(engine: AsyncEngine) -> team_admin.TeamDetail:
        found = await team_admin.find_team(engine, team)
        return await team_admin.update_team(engine, cli_actor(), found.id, changes)

    row = with_database(write, writes=True).team
    click.echo(f"Team {row.id} '{row.name}' (models: {_models(row)}).")


@teams.command("delete")
@click.argument("team")
@click.option("--revoke-keys", is_flag=True, help="Revoke the team's keys with it.")
def delete(team: str, revoke_keys: bool) -> None:
    """Delete TEAM. A team with keys that are not revoked is kept, unless --revoke-keys."""

    async def write(engine: AsyncEngine) -> team_admin.TeamDetail:
        found = await team_admin.find_team(engine, team)
        return await team_admin.delete_team(engine, cli_actor(), found.id, revoke_keys=revoke_keys)

    deleted = with_database(write, writes=True)
    revoked = f"; revoked keys {', '.join(map(str, deleted.key_ids))}" if deleted.key_ids else ""
    click.echo(f"Deleted team {deleted.team.id} '{deleted.team.name}'{revoked}.")


@teams.command("add-member")
@click.argument("team")
@click.argument("person")
def add_member(team: str, person: str) -> None:
    """Put PERSON (a token subject or an e-mail address) in TEAM."""

    async def write(engine: AsyncEngine) -> tuple[TeamRow, bool]:
        found = await team_admin.find_team(engine, team)
        _, added = await team_admin.add_member(engine, cli_actor(), found.id, person)
        return found, added

    found, added = with_database(write, writes=True)
    where = f"team {found.id} '{found.name}'"
    click.echo(f"Added {person} to {where}." if added else f"{person} is already in {where}.")


@teams.command("remove-member")
@click.argument("team")
@click.argument("person")
def remove_member(team: str, person: str) -> None:
    """Take PERSON out of TEAM."""

    async def write(engine: AsyncEngine) -> TeamRow:
        found = await team_admin.find_team(engine, team)
        await team_admin.remove_member(engine, cli_actor(), found.id, person)
        return found

    found = with_database(write, writes=True)
    click.echo(f"Removed {person} from team {found.id} '{found.name}'.")
