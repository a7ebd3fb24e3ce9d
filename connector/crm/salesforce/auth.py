"""Building the ``simple_salesforce.Salesforce`` client from :class:`SalesforceSettings`.

Four login flows, chosen by which secret is set: a session id (+ instance URL), username + password
(+ security token, SOAP ``login()``), OAuth JWT bearer (consumer key + private key file + username)
and OAuth client credentials (consumer key + secret + My Domain). Settings that name two flows, or
miss one a flow needs, fail with one line naming the setting to provide; secret values are read with
``get_secret_value()`` only at the call and never appear in messages or logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr
from simple_salesforce.api import Salesforce

from connector.config import SalesforceSettings
from connector.crm.base import AuthError, SettingError
from connector.crm.salesforce.errors import TRANSLATED

SESSION, PASSWORD, JWT, CLIENT_CREDENTIALS = "session id", "password", "JWT bearer", "client credentials"

_FLOW_MARKERS = {
    "session_id": SESSION,
    "password": PASSWORD,
    "private_key_file": JWT,
    "consumer_secret": CLIENT_CREDENTIALS,
}
"""The setting that selects each flow."""

_NO_FLOW = (
    "no Salesforce login configured: set salesforce.session_id + instance_url, or username + password "
    "(+ security_token), or consumer_key + private_key_file + username (JWT), or consumer_key + "
    "consumer_secret + domain (client credentials)"
)


def _secret(value: SecretStr | None) -> str | None:
    """The secret's value, or None when unset or empty."""
    if value is None:
        return None
    return value.get_secret_value() or None


def _is_set(settings: SalesforceSettings, name: str) -> bool:
    value = getattr(settings, name)
    if isinstance(value, SecretStr):
        return _secret(value) is not None
    return value not in (None, "")


def login_flow(settings: SalesforceSettings) -> str:
    """Which flow the settings select; :class:`SettingError` naming the setting when missing or contradictory
    (found before any call, so the run leaves nothing behind)."""
    chosen = [name for name in _FLOW_MARKERS if _is_set(settings, name)]
    if len(chosen) > 1:
        named = " and ".join(f"salesforce.{name}" for name in chosen)
        raise SettingError(f"{named} are set together: keep the settings of one login flow only")
    if not chosen:
        if settings.consumer_key:
            raise SettingError(
                "salesforce.consumer_key is set: add salesforce.private_key_file + username (JWT) or "
                "salesforce.consumer_secret + domain (client credentials)"
            )
        if settings.username:
            raise SettingError("salesforce.username is set: add salesforce.password (and security_token)")
        raise SettingError(_NO_FLOW)
    flow = _FLOW_MARKERS[chosen[0]]
    if flow == SESSION and not settings.instance_url:
        raise SettingError(
            "salesforce.instance_url is required with salesforce.session_id "
            "(e.g. https://yourcompany.my.salesforce.com)"
        )
    if flow == PASSWORD and not settings.username:
        raise SettingError("salesforce.username is required with salesforce.password")
    if flow == JWT:
        if not settings.username or not settings.consumer_key:
            missing = "username" if not settings.username else "consumer_key"
            raise SettingError(
                f"salesforce.{missing} is required with salesforce.private_key_file (JWT bearer)"
            )
        assert settings.private_key_file is not None
        if not settings.private_key_file.is_file():
            raise SettingError(f"salesforce.private_key_file: no such file {settings.private_key_file}")
    if flow == CLIENT_CREDENTIALS:
        if not settings.consumer_key:
            raise SettingError("salesforce.consumer_key is required with salesforce.consumer_secret")
        if settings.domain in ("login", "test"):
            raise SettingError(
                "salesforce.domain must be your My Domain (e.g. yourcompany.my) for client credentials"
            )
    return flow


def http_session(settings: SalesforceSettings) -> requests.Session:
    """The HTTP session every call uses.

    With ``ca_bundle`` the session ignores the environment (``trust_env = False``): requests lets
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` beat ``Session.verify``, so the bundle would otherwise be
    silently ignored. Proxies from the environment are copied in explicitly (``no_proxy`` honoured).
    """
    session = requests.Session()
    if settings.ca_bundle is not None:
        if not settings.ca_bundle.is_file():
            raise SettingError(f"salesforce.ca_bundle: no such file {settings.ca_bundle}")
        target = settings.instance_url or f"https://{settings.domain}.salesforce.com"
        session.proxies.update(requests.utils.get_environ_proxies(target))
        session.trust_env = False
        session.verify = str(settings.ca_bundle)
    return session


def connect(settings: SalesforceSettings, session: requests.Session) -> Salesforce:
    """Log in (all flows but the session id one call Salesforce here) and return the client.

    Login failures surface as simple_salesforce / requests exceptions for the caller to translate.
    """
    flow = login_flow(settings)
    version = settings.api_version.removeprefix("v")
    common: dict[str, Any] = {"session": session, "version": version}
    if flow == SESSION:
        return Salesforce(
            instance_url=settings.instance_url, session_id=_secret(settings.session_id), **common
        )
    if flow == PASSWORD:
        return Salesforce(
            username=settings.username,
            password=_secret(settings.password),
            security_token=_secret(settings.security_token) or "",
            domain=settings.domain,
            **common,
        )
    if flow == JWT:
        key_file: Path | None = settings.private_key_file
        try:
            return Salesforce(
                username=settings.username,
                consumer_key=settings.consumer_key,
                privatekey_file=str(key_file),
                domain=settings.domain,
                **common,
            )
        except Exception as error:
            # PyJWT / cryptography refuse a bad key before anything is sent; transport and
            # Salesforce errors pass through to the caller's translation.
            if isinstance(error, TRANSLATED):
                raise
            raise AuthError(
                f"salesforce.private_key_file: not a usable RSA private key ({type(error).__name__})"
            ) from None
    return Salesforce(
        consumer_key=settings.consumer_key,
        consumer_secret=_secret(settings.consumer_secret),
        domain=settings.domain,
        **common,
    )
