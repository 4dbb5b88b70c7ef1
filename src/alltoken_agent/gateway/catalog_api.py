"""The catalog's one wire call: GET a model-list or public-catalog path (docs/wire-format.md §1.6).

Two sources:

* ``GET /models`` (and ``/videos/models``) with the key: every OpenAI-compatible
  gateway has the first.
* ``GET {public_base_url}/...`` (``/api-account``, no key): AllToken's catalog with
  prices and capabilities, rankings, providers and route health.

This module only sends the request (through ``Gateway.request``, with its retries)
and decodes the body; ``catalog_parse`` and ``catalog_facets`` turn bodies into typed
values, and ``alltoken_agent.catalog.Catalog`` is the one public API over them (which
path to ask, the disk cache, prices and the choice of a model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alltoken_agent.errors import UpstreamError, UserError
from alltoken_agent.gateway._payload import loads_bytes

if TYPE_CHECKING:
    import httpx

    from alltoken_agent.gateway.client import Gateway

__all__ = ["get_json"]


async def get_json(
    gateway: Gateway,
    path: str,
    params: Mapping[str, str] | None = None,
    *,
    public: bool = False,
    retry: bool = True,
) -> Any:
    """``GET path`` and the body decoded as JSON (not yet checked: parse it).

    ``path`` is relative to the base URL (sent with the key) or, with ``public=True``,
    to the provider's public catalog (sent without it). ``retry=False`` makes one
    attempt (an optional lookup, such as prices before a request, must not add its
    own round of retries to the request's).

    Raises:
        UserError: ``public=True`` for a provider without a public catalog.
        UpstreamError: A body that is not JSON (``malformed_response``).
        GatewayError: The request failed (after its retries).
    """
    url = path
    if public:
        base = gateway.provider.public_base_url
        if base is None:
            raise UserError(
                f"the {gateway.provider.name} provider has no public model catalog; `models` "
                "(GET /models) works, and the alltoken provider has prices, rankings and health"
            )
        url = f"{base}/{path}"
    response = await gateway.request("GET", url, params=params, auth=not public, retry=retry)
    return _decode(response)


def _decode(response: httpx.Response) -> Any:
    try:
        return loads_bytes(response.content)  # lone surrogates made safe, as replies
    except ValueError:
        raise UpstreamError(
            f"GET {response.request.url.path} answered {response.status_code} with a body "
            "that is not JSON",
            status=response.status_code,
            code="malformed_response",
            request_id=response.headers.get("x-gateway-request-id"),
        ) from None
