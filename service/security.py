"""Who is calling, and whether they may: the API key check and the rate limit, as one dependency of the /v1 routes.
Owns authorize, Caller and the bearer scheme shown on the OpenAPI page.

The rules themselves (hashes, constant-time comparison, the sliding window) are :mod:`core.access`'s; this module
reads the header and answers 401 or 429.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="An API key from `python train_cli.py api-key --file FILE`; "
                                                  "needed when the server was started with --api-keys FILE")
UNAUTHORIZED = "a valid API key is needed: send the header 'Authorization: Bearer KEY'"


def authorize(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
              ) -> str | None:
    """The caller's key id (None without keys); 401 for a missing or wrong key, 429 over the rate limit."""
    service = request.app.state.service
    caller = None
    if service.keys is not None:
        # the same work for a missing key as for a wrong one: both are hashed and compared with every key
        caller = service.keys.ring().match(credentials.credentials if credentials else None)
        if caller is None:
            raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    if service.limiter is not None:
        wait = service.limiter.check(caller or (request.client.host if request.client else "unknown"))
        if wait is not None:
            raise HTTPException(429, f"over the limit of {service.limiter.per_minute} requests a minute; try again "
                                     f"in {math.ceil(wait)} s", headers={"Retry-After": str(math.ceil(wait))})
    return caller


Caller = Annotated[str | None, Depends(authorize)]
"""A route's caller: run once per request, whether the router or the route asks for it."""
