"""Account-level endpoints: ``whoami-v2``, ``validate-yaml``, ``agent-harnesses``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from leaf_hub.hub_server.auth import require_user
from leaf_hub.hub_server.deps import PrincipalDep, StateDep, read_body
from leaf_hub.hub_server.schemas import AccessToken, AuthInfo, Org, WhoAmI

router = APIRouter(prefix="/api", tags=["users"])


@router.get("/whoami-v2", response_model=WhoAmI)
def whoami(principal: PrincipalDep) -> WhoAmI:
    """Describe the caller's token (401 without one)."""
    user = require_user(principal, write=False)
    return WhoAmI(
        id=f"u-{user.user}",
        name=user.user,
        fullname=user.user,
        orgs=[Org(name=org) for org in user.orgs],
        auth=AuthInfo(accessToken=AccessToken(displayName=f"{user.user}-{user.role}", role=user.role)),
    )


@router.post("/validate-yaml")
async def validate_yaml(request: Request, state: StateDep) -> dict[str, list[str]]:
    """Accept any README metadata (the client parses the answer as JSON before checking the status)."""
    await read_body(request, state.settings.max_request_bytes)
    return {"errors": [], "warnings": []}


@router.get("/agent-harnesses")
def agent_harnesses() -> dict[str, object]:
    """Answer the client's telemetry probe with nothing."""
    return {"standardEnvVars": [], "harnesses": {}}
