"""The adapter's only door to HubSpot: one ``hubspot.HubSpot`` client whose every call is paced
(``pacing``), translated (``errors``) and retried (``connector.crm.retry``), one HTTP request at a time.

The client's own urllib3 ``Retry`` would retry a GET answered 429/503 by sleeping out ``Retry-After``
(and, for the daily limit, sleep until midnight) before this code sees anything, and it never retries
a POST: it is built with ``Retry(total=0, raise_on_status=False)`` so that tenacity is the single retry
layer, for every method alike; what it trusts and its proxy come from ``transport``. Every
``client.crm.<x>`` access builds a new ``ApiClient`` and connection pool, so each API object is built
once and kept.

Answers are taken as JSON, not as the client's models: calls use the ``*_with_http_info`` variants with
``_preload_content=False`` (a documented client option), which return the raw response with its
rate-limit headers. Deserialising models parses ``createdAt``/``updatedAt`` of every record with
dateutil — about half the adapter's time on a large read — for data the adapter never uses. Request
bodies are the client's models with their repeated items as JSON: the client checks the envelope, and
building a model per item (each copies the client configuration) would cost more than the call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import hubspot
import urllib3

from connector.config import HubSpotSettings
from connector.crm.base import ApiUsage, FatalError, SettingError
from connector.crm.hubspot.errors import API_EXCEPTIONS, TRANSLATED, translate
from connector.crm.hubspot.pacing import Pacer
from connector.crm.hubspot.transport import client_options
from connector.crm.retry import RetryPolicy, retrying

REQUEST_TIMEOUT = (10.0, 120.0)
"""(connect, read) seconds per request: the client sets none, so a hung connection would hang the sync."""

Json = dict[str, Any]


ACCOUNT_DETAILS_PATH = "/account-info/v3/details"


class HubSpotClient:
    """Paced, translated, retried access to one portal; nothing is sent until the first call."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._sleep = sleep
        self.pacer = Pacer(sleep=sleep, monotonic=monotonic)
        self._hubspot: Any = None
        self._apis: dict[str, Any] = {}

    @property
    def hubspot(self) -> Any:
        """The ``hubspot.HubSpot`` client (built on first use; :class:`SettingError` without a token)."""
        if self._hubspot is None:
            secret = self._settings.access_token
            token = secret.get_secret_value() if secret is not None else ""
            if not token:
                raise SettingError(
                    "hubspot.access_token is not set: use a private app's access token "
                    "(or an OAuth access token), e.g. TIERSYNC_HUBSPOT__ACCESS_TOKEN"
                )
            self._hubspot = hubspot.HubSpot(
                access_token=token,
                host=self._settings.host.rstrip("/"),
                retry=urllib3.Retry(total=0, raise_on_status=False),
                **client_options(self._settings),
            )
        return self._hubspot

    def _api(self, name: str, build: Callable[[Any], Any]) -> Any:
        if name not in self._apis:
            self._apis[name] = build(self.hubspot.crm)
        return self._apis[name]

    @property
    def objects_basic(self) -> Any:
        return self._api("objects_basic", lambda crm: crm.objects.basic_api)

    @property
    def objects_batch(self) -> Any:
        return self._api("objects_batch", lambda crm: crm.objects.batch_api)

    @property
    def objects_search(self) -> Any:
        return self._api("objects_search", lambda crm: crm.objects.search_api)

    @property
    def associations_batch(self) -> Any:
        return self._api("associations_batch", lambda crm: crm.associations.v4.batch_api)

    @property
    def properties_core(self) -> Any:
        return self._api("properties_core", lambda crm: crm.properties.core_api)

    @property
    def properties_groups(self) -> Any:
        return self._api("properties_groups", lambda crm: crm.properties.groups_api)

    def call(
        self, what: str, method: Callable[..., Any], *args: Any, search: bool = False, **kwargs: Any
    ) -> Json:
        """``method(*args, **kwargs)`` — a ``*_with_http_info`` method — as one paced, retried request;
        returns the answer's JSON body (``{}`` when it has none). ``search`` marks a search call."""

        def attempt() -> Json:
            self.pacer.before(search=search)
            try:
                response = method(*args, _request_timeout=REQUEST_TIMEOUT, _preload_content=False, **kwargs)
                try:
                    body = response.data
                finally:
                    response.release_conn()
            except TRANSLATED as error:
                if isinstance(error, API_EXCEPTIONS):
                    self.pacer.observe(getattr(error, "headers", None))
                raise translate(error) from error
            self.pacer.observe(response.headers)
            data = json.loads(body) if body else {}
            return data if isinstance(data, dict) else {"results": data}

        runner = retrying(self._policy, sleep=self._sleep, what=f"HubSpot {what}")
        result: Json = runner(attempt)
        return result

    def usage(self) -> ApiUsage | None:
        return self.pacer.usage()

    def portal_id(self) -> str:
        """The portal (Hub ID) the token reaches: ``GET /account-info/v3/details`` answers ``portalId``
        (HubSpot "Retrieve account details"). Sent through the CRM client's own transport, so it gets
        the same host, TLS settings, pacing, translation and retries as every other call."""
        api_client = self.objects_basic.api_client
        body = self.call(
            "account details",
            api_client.call_api,
            ACCOUNT_DETAILS_PATH,
            "GET",
            header_params={"Accept": "application/json"},
            response_types_map={},
            auth_settings=["oauth2"],
            _return_http_data_only=True,
        )
        portal = body.get("portalId")
        if portal is None:
            raise FatalError(f"HubSpot {ACCOUNT_DETAILS_PATH} answered no portalId")
        return str(portal)
