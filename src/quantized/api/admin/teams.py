"""``/admin/v1/teams``: teams, the models they may use, and the people in them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.admin.keys import Patterns
from quantized.api.json_response import json_response
from quantized.api.requests import Id, Parameters, PathParameters, optional, runtime
from quantized.api.routing import Answer, body, operation, path, principal, query, route
from quantized.services import teams
from quantized.services.actors import actor_of
from quantized.store.teams import Member
from quantized.values import MAX_LINE, NAME

PREFIX = "/admin/v1/teams"
TAGS = ("admin: teams",)
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_LINE,
        pattern=teams.TEAM_NAME,
        description="Unique; not only digits and spaces (digits name teams by id)",
    ),
]
Person = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_LINE,
        pattern=NAME,
        description="A token subject or an e-mail address, as tokens name the person",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TeamCreate(_Body):
    name: Name
    models: Patterns | None = None


class TeamChange(_Body):
    """Only the fields given change; ``models: null`` means every model."""

    name: Name = optional(description="A new name (not null)")
    models: Patterns | None = None


class TeamPath(PathParameters):
    what = "team"
    code = "team_not_found"
    team_id: Id


class MemberPath(PathParameters):
    what = "team member"
    code = "member_not_found"
    team_id: Id
    person: Person


class DeleteQuery(Parameters):
    revoke_keys: Annotated[
        bool,
        Field(description="true: revoke the team's keys with it (else a team with keys is kept)"),
    ] = False


def team_object(team: teams.TeamSummary | teams.TeamDetail) -> dict[str, Any]:
    return {"object": "team", **team.public()}


def member_object(team_id: int, member: Member) -> dict[str, Any]:
    return {
        "object": "team.member",
        "team_id": team_id,
        "person": member.person,
        "added_at": member.added_at,
    }


@operation(
    "List teams, with their numbers of members and keys",
    tags=TAGS,
    responses={200: Answer("All teams", schemas.TeamList)},
)
async def list_teams(request: Request) -> Response:
    found = await teams.list_teams(runtime(request).engine)
    return json_response({"object": "list", "data": [team_object(t) for t in found]})


@operation(
    "Create a team (models: ids or globs its members may use; null or absent: every model)",
    tags=TAGS,
    body=TeamCreate,
    responses={201: Answer("Created", schemas.TeamDetail)},
    errors=(409,),
)
async def create_team(request: Request) -> Response:
    given = body(request, TeamCreate)
    app = runtime(request)
    created = await teams.create_team(
        app.engine, actor_of(principal(request)), given.name, given.models
    )
    await app.refresh()
    return json_response(team_object(created), status=201)


@operation(
    "Get a team, with its members and keys",
    tags=TAGS,
    path=TeamPath,
    responses={200: Answer("The team", schemas.TeamDetail)},
)
async def get_team(request: Request) -> Response:
    found = await teams.get_team(runtime(request).engine, path(request, TeamPath).team_id)
    return json_response(team_object(found))


@operation(
    "Change a team's name or models (null: every model)",
    tags=TAGS,
    path=TeamPath,
    body=TeamChange,
    responses={200: Answer("The changed team", schemas.TeamDetail)},
    errors=(409,),
)
async def change_team(request: Request) -> Response:
    given = body(request, TeamChange)
    changes = {name: getattr(given, name) for name in given.model_fields_set}
    app = runtime(request)
    changed = await teams.update_team(
        app.engine, actor_of(principal(request)), path(request, TeamPath).team_id, changes
    )
    await app.refresh()
    return json_response(team_object(changed))


@operation(
    "Delete a team; one with keys that are not revoked is kept (409) unless revoke_keys",
    tags=TAGS,
    path=TeamPath,
    query=DeleteQuery,
    responses={200: Answer("Deleted", schemas.TeamDeleted)},
    errors=(409,),
)
async def delete_team(request: Request) -> Response:
    team_id = path(request, TeamPath).team_id
    app = runtime(request)
    deleted = await teams.delete_team(
        app.engine,
        actor_of(principal(request)),
        team_id,
        revoke_keys=query(request, DeleteQuery).revoke_keys,
    )
    await app.refresh()
    return json_response(
        {
            "id": team_id,
            "object": "team",
            "deleted": True,
            "revoked_key_ids": list(deleted.key_ids),
        }
    )


@operation(
    "List a team's members",
    tags=TAGS,
    path=TeamPath,
    responses={200: Answer("Its members, by person", schemas.TeamMemberList)},
)
async def list_members(request: Request) -> Response:
    team_id = path(request, TeamPath).team_id
    found = await teams.list_members(runtime(request).engine, team_id)
    return json_response({"object": "list", "data": [member_object(team_id, m) for m in found]})


@operation(
    "Put a person in a team (201: added; 200: already a member)",
    tags=TAGS,
    path=MemberPath,
    responses={
        200: Answer("Already a member", schemas.TeamMember),
        201: Answer("Added", schemas.TeamMember),
    },
)
async def add_member(request: Request) -> Response:
    given = path(request, MemberPath)
    app = runtime(request)
    member, added = await teams.add_member(
        app.engine, actor_of(principal(request)), given.team_id, given.person
    )
    if added:
        await app.refresh()
    return json_response(member_object(given.team_id, member), status=201 if added else 200)


@operation(
    "Take a person out of a team",
    tags=TAGS,
    path=MemberPath,
    responses={200: Answer("Removed", schemas.TeamMemberDeleted)},
)
async def remove_member(request: Request) -> Response:
    given = path(request, MemberPath)
    app = runtime(request)
    member = await teams.remove_member(
        app.engine, actor_of(principal(request)), given.team_id, given.person
    )
    await app.refresh()
    return json_response(
        {
            "object": "team.member",
            "team_id": given.team_id,
            "person": member.person,
            "deleted": True,
        }
    )


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_teams, POST=create_team),
        route(f"{PREFIX}/{{team_id}}", GET=get_team, PATCH=change_team, DELETE=delete_team),
        route(f"{PREFIX}/{{team_id}}/members", GET=list_members),
        route(
            f"{PREFIX}/{{team_id}}/members/{{person:path}}", PUT=add_member, DELETE=remove_member
        ),
    ]
