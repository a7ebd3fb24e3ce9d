"""Logging in: the SOAP ``login()`` call and the OAuth 2.0 token endpoint, both minting bearer tokens.

simple_salesforce builds login URLs as ``https://{domain}.salesforce.com/...``, so it cannot reach
``127.0.0.1:PORT`` by ``domain`` alone. :func:`login_domain` returns a ``domain`` value that ends the
real login path with ``?``; the client's ``.salesforce.com/...`` tail then becomes a query string the
sandbox ignores, and ``Salesforce(username=..., password=..., security_token=..., domain=...)`` works,
including its automatic re-login after a 401. The JWT assertion's signature is not verified.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import xml.etree.ElementTree as ET  # DOCTYPEs are refused before parsing
from html import escape
from typing import Any
from urllib.parse import parse_qs

from .web import Reply, Request, json_reply

_SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>
<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>
<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>
</soapenv:Body></soapenv:Envelope>"""

_SOAP_LOGIN = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><loginResponse><result>
<metadataServerUrl>{base}/services/Soap/m/{version}/{org}</metadataServerUrl>
<passwordExpired>false</passwordExpired>
<sandbox>true</sandbox>
<serverUrl>{base}/services/Soap/u/{version}/{org}</serverUrl>
<sessionId>{session}</sessionId>
<userId>{user}</userId>
<userInfo><organizationId>{org}</organizationId><organizationName>Tiersync Sandbox</organizationName>\
<userEmail>{username}</userEmail><userFullName>Tiersync Integration</userFullName><userId>{user}</userId>\
<userName>{username}</userName></userInfo>
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def login_domain(base_url: str, *, flow: str = "soap", version: str = "60.0") -> str:
    """The ``domain=`` value that points simple_salesforce's login at the sandbox.

    ``flow="soap"`` for username + password + security token, ``"oauth"`` for the connected-app flows
    (password with consumer key/secret, client credentials, JWT bearer).
    """
    host = base_url.split("://", 1)[-1].rstrip("/")
    path = f"/services/Soap/u/{version}" if flow == "soap" else "/services/oauth2/token"
    return f"{host}{path}?"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _b64url_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Authenticator:
    """Valid bearer tokens: the configured session id plus every token a login minted."""

    def __init__(
        self, *, session_id: str, username: str, password: str, security_token: str, org_id: str, user_id: str
    ) -> None:
        self.session_id = session_id
        self.username = username
        self.password = password
        self.security_token = security_token
        self.org_id = org_id
        self.user_id = user_id
        self._minted: set[str] = set()
        self.other_sessions: dict[str, str] = {}
        """Session ids of other users (token -> ``User`` Id): the org's people, whose edits a test makes."""

    def valid(self, authorization: str | None) -> bool:
        return self.user_for(authorization) is not None

    def user_for(self, authorization: str | None) -> str | None:
        """The ``User`` Id a bearer token acts as (logins mint tokens for the API user), or None."""
        if not authorization or not authorization.startswith(("Bearer ", "OAuth ")):
            return None
        token = authorization.split(" ", 1)[1].strip()
        if token == self.session_id or token in self._minted:
            return self.user_id
        return self.other_sessions.get(token)

    def expire_sessions(self) -> None:
        """Invalidate every minted token (the configured session id stays valid), to test re-login."""
        self._minted.clear()

    def _mint(self) -> str:
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(24)}"
        self._minted.add(token)
        return token

    def _password_ok(self, username: str | None, password: str | None) -> bool:
        return (username or "").lower() == self.username.lower() and password in (
            self.password + self.security_token,
            self.password if not self.security_token else None,
        )

    def soap_login(self, request: Request, params: dict[str, str]) -> Reply:
        text = request.body.decode("utf-8", errors="replace")
        if "<!DOCTYPE" in text.upper() or len(text) > 65536:
            return self._soap_fault("INVALID_LOGIN", _INVALID_LOGIN)
        try:
            root = ET.fromstring(text)  # noqa: S314  # DOCTYPE (entity expansion) refused above
        except ET.ParseError:
            return self._soap_fault("UNKNOWN_EXCEPTION", "Invalid SOAP envelope")
        found = {_local(el.tag): (el.text or "") for el in root.iter()}
        if not self._password_ok(found.get("username"), found.get("password")):
            return self._soap_fault("INVALID_LOGIN", _INVALID_LOGIN)
        body = _SOAP_LOGIN.format(
            base=request.base_url,
            version=params["version"],
            org=self.org_id,
            session=self._mint(),
            user=self.user_id,
            username=escape(self.username),
        )
        return Reply(200, body.encode(), "text/xml;charset=UTF-8")

    def _soap_fault(self, code: str, message: str) -> Reply:
        return Reply(
            500, _SOAP_FAULT.format(code=code, message=escape(message)).encode(), "text/xml;charset=UTF-8"
        )

    def oauth_token(self, request: Request, params: dict[str, str]) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", errors="replace")).items()}
        grant = form.get("grant_type")
        if grant == "password":
            if not form.get("client_id") or not form.get("client_secret"):
                return self._oauth_error("invalid_client", "invalid client credentials")
            if not self._password_ok(form.get("username"), form.get("password")):
                return self._oauth_error("invalid_grant", "authentication failure")
        elif grant == "client_credentials":
            if not self._client_credentials(request, form):
                return self._oauth_error("invalid_client", "invalid client credentials")
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self._jwt_problem(form.get("assertion", ""))
            if problem:
                return self._oauth_error("invalid_grant", problem)
        else:
            return self._oauth_error("unsupported_grant_type", "grant type not supported")
        base = request.base_url
        return json_reply(
            200,
            {
                "access_token": self._mint(),
                "instance_url": base,
                "id": f"{base}/id/{self.org_id}/{self.user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": "tiersync-sandbox",
                "scope": "api",
            },
        )

    @staticmethod
    def _client_credentials(request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return bool(key and secret)
        return bool(form.get("client_id") and form.get("client_secret"))

    def _jwt_problem(self, assertion: str) -> str | None:
        parts = assertion.split(".")
        if len(parts) != 3:
            return "invalid assertion: not a JWT"
        try:
            header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
        except (ValueError, binascii.Error):
            return "invalid assertion: undecodable"
        if not isinstance(header, dict) or not isinstance(claims, dict) or not header.get("alg"):
            return "invalid assertion: missing alg or claims"
        if not claims.get("iss") or str(claims.get("sub", "")).lower() != self.username.lower():
            return "user hasn't approved this consumer"
        if float(claims.get("exp", 0)) < time.time():
            return "expired authorization code"
        return None

    @staticmethod
    def _oauth_error(error: str, description: str) -> Reply:
        return json_reply(400, {"error": error, "error_description": description})
