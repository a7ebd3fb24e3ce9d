"""What the client's urllib3 pool trusts and which proxy it goes through.

``hubspot-api-client`` copies every keyword of ``hubspot.HubSpot(...)`` onto each API package's
``Configuration``, whose ``ssl_ca_cert`` becomes urllib3's ``ca_certs`` and whose ``proxy`` /
``proxy_headers`` make it a ``ProxyManager`` (a CONNECT tunnel for ``https://``). urllib3 reads neither
``REQUESTS_CA_BUNDLE`` nor ``HTTPS_PROXY``: without this module a HubSpot client behind a corporate
proxy that re-signs TLS would neither reach the proxy nor trust it. The environment's proxies are
read the way requests reads them for the Salesforce session (``no_proxy`` honoured); credentials in
a proxy URL travel in a ``Proxy-Authorization`` header, never in a URL that an error could show.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import requests.utils
import urllib3

from connector.config import HubSpotSettings
from connector.crm.base import SettingError


def client_options(settings: HubSpotSettings) -> dict[str, Any]:
    """Keywords for ``hubspot.HubSpot(...)``: ``ssl_ca_cert`` and the proxy, when there are any."""
    options: dict[str, Any] = {}
    if settings.ca_bundle is not None:
        if not settings.ca_bundle.is_file():
            raise SettingError(f"hubspot.ca_bundle: no such file {settings.ca_bundle}")
        options["ssl_ca_cert"] = str(settings.ca_bundle)
    host = settings.host.rstrip("/")
    proxy = requests.utils.get_environ_proxies(host).get(urllib.parse.urlsplit(host).scheme)
    if proxy:
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        netloc = parts.netloc.rpartition("@")[2]
        options["proxy"] = urllib.parse.urlunsplit((parts.scheme, netloc, "", "", ""))
        if parts.username is not None:
            credentials = (
                f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            )
            options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=credentials)
    return options
