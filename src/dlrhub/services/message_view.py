"""One message as its page shows it: the status timeline, each callback as it goes on the wire (secrets masked),
and every attempt of each.

A callback's stored request is what its dialect rendered (method, URL, body, content type). The sender adds the
rest at each attempt: its `User-Agent` and, for an account with signing secrets, the Standard Webhooks headers,
signed with the secrets live at that moment; signatures are never stored, so a page shows their scheme and the key
id of each secret, never a value. Anything in a URL, a header or a JSON body whose name looks like a credential
(signature, secret, token, password, key...) is masked the same way.
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from typing import Any

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import errors, models
from dlrhub.services import hub as hub_
from dlrhub.services import keys, replay

#: What a masked value shows instead of itself.
MASK = "…"
#: The most attempts shown per callback (the latest ones): a callback replayed many times keeps them all.
MAX_ATTEMPTS = 200
#: The most status events shown of one message.
MAX_EVENTS = 500
#: Names of fields whose values are credentials, in any case: never shown.
_SECRET_NAME = re.compile(
    r"sign|secret|token|passw|auth|cookie|session|credential|private|(^|[-_.])(api)?[-_]?key$", re.IGNORECASE
)
#: A value's scheme (`v1,`, `sha256=`, `t=`), kept when the rest is masked.
_SCHEME = re.compile(r"^[A-Za-z0-9_.-]{1,16}[,=:]")


@dataclasses.dataclass(frozen=True, slots=True)
class Header:
    """One header of a callback's request, as a page may show it."""

    name: str
    value: str
    #: Added by the sender at each attempt (not stored with the callback).
    at_send: bool = False
    #: The value shown is masked (a signature or other credential).
    masked: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackView:
    """A callback rendered as sent: its URL and query (credentials masked), headers, body, and its attempts."""

    callback: models.Callback
    url: str
    query: list[tuple[str, str]]
    headers: list[Header]
    body: str
    body_is_json: bool
    #: The latest MAX_ATTEMPTS attempts, oldest first, and how many earlier ones are left out.
    attempts: list[models.Attempt]
    attempts_left_out: int = 0

    @property
    def replayable(self) -> bool:
        """Whether replay would send it again now (a pending one is already on its way)."""
        return self.callback.state is not models.CallbackState.PENDING


@dataclasses.dataclass(frozen=True, slots=True)
class MessageView:
    """A message with its timeline and its callbacks."""

    message: models.Message
    #: The callback URL the message was sent with, credentials masked.
    callback_url: str | None
    events: list[models.StatusEvent]
    callbacks: list[CallbackView]
    #: The key ids of the account's live signing secrets (empty: its callbacks go unsigned).
    signing_keys: tuple[str, ...]

    @property
    def live(self) -> bool:
        """Whether a callback is still pending (the page refreshes its callbacks until none is)."""
        return any(cb.callback.state is models.CallbackState.PENDING for cb in self.callbacks)


def secret_name(name: str) -> bool:
    """Whether a field called `name` (a header, a query parameter, a JSON key) holds a credential."""
    return bool(_SECRET_NAME.search(name))


def mask_value(value: str) -> str:
    """A credential's value as shown: its scheme only (`Bearer …`, `v1,… v1,…`, `sha256=…`), never the rest."""
    parts = value.split()
    if len(parts) == 2 and parts[0].isalpha():
        return f"{parts[0]} {MASK}"
    shown = [(found.group(0) if (found := _SCHEME.match(part)) else "") + MASK for part in parts]
    return " ".join(shown) or MASK


def mask_url(url: str) -> str:
    """`url` with a password in its authority and the values of credential-named query parameters masked;
    everything else exactly as sent."""
    head, sep, query = url.partition("?")
    scheme, slashes, rest = head.partition("://")
    if slashes:
        authority, slash, path = rest.partition("/")
        userinfo, at, host = authority.rpartition("@")
        if at and ":" in userinfo:
            authority = userinfo.partition(":")[0] + ":" + MASK + "@" + host
        head = scheme + slashes + authority + slash + path
    if not sep:
        return head
    query, hash_, fragment = query.partition("#")
    pairs = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        hidden = eq and value and secret_name(urllib.parse.unquote_plus(name))
        pairs.append(f"{name}={MASK}" if hidden else pair)
    return head + sep + "&".join(pairs) + hash_ + fragment


def query_pairs(url: str) -> list[tuple[str, str]]:
    """The query parameters of `url`, decoded, in order; credential-named ones masked."""
    query = url.partition("?")[2].partition("#")[0]
    if not query:
        return []
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return [(name, MASK if value and secret_name(name) else value) for name, value in pairs]


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (MASK if secret_name(str(k)) and v not in (None, "") else _mask_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return value


def shown_body(body: bytes) -> tuple[str, bool]:
    """A request body as a page shows it: JSON pretty-printed (credential-named keys masked), else the raw text.
    Returns the text and whether it was JSON."""
    if not body:
        return "", False
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return text, False
    return json.dumps(_mask_json(parsed), indent=2, ensure_ascii=False), True


def headers_of(cb: models.Callback, signing_keys: tuple[str, ...]) -> list[Header]:
    """The headers an attempt of `cb` carries: the stored content type, and what the sender adds at send time."""
    found = [Header("User-Agent", sender.USER_AGENT, at_send=True)]
    if cb.request.content_type:
        found.append(Header("Content-Type", cb.request.content_type))
    if signing_keys:
        found += [
            Header("webhook-id", cb.id, at_send=True),
            Header("webhook-timestamp", "the attempt's start, in Unix seconds", at_send=True),
            Header(
                "webhook-signature",
                " ".join(f"v1,{MASK} ({key})" for key in signing_keys),
                at_send=True,
                masked=True,
            ),
        ]
    return found


def callback_view(
    cb: models.Callback, attempts: list[models.Attempt], signing_keys: tuple[str, ...]
) -> CallbackView:
    """One callback as its page shows it."""
    body, is_json = shown_body(cb.request.body if cb.request.method.upper() != "GET" else b"")
    left_out = max(0, len(attempts) - MAX_ATTEMPTS)
    return CallbackView(
        callback=cb,
        url=mask_url(cb.request.url),
        query=query_pairs(cb.request.url),
        headers=headers_of(cb, signing_keys),
        body=body,
        body_is_json=is_json,
        attempts=attempts[left_out:],
        attempts_left_out=left_out,
    )


async def _signing_keys(hub: hub_.Hub, account_id: str) -> tuple[str, ...]:
    accounts: store.Accounts = hub.store
    try:
        account = await accounts.get_account(account_id)
    except errors.NotFound:
        return ()
    return tuple(keys.key_id(secret) for secret in account.signing_secrets)


async def callbacks(hub: hub_.Hub, message: models.Message) -> tuple[list[CallbackView], tuple[str, ...]]:
    """A message's callbacks in order, as shown, and its account's signing key ids."""
    db: store.Callbacks = hub.store
    signing_keys = await _signing_keys(hub, message.account_id)
    shown = []
    for cb in await db.list_callbacks(message.id):
        shown.append(callback_view(cb, await db.list_attempts(cb.id), signing_keys))
    return shown, signing_keys


async def view(hub: hub_.Hub, message_id: str, owner: str | None = None) -> MessageView:
    """A message with its status timeline and callbacks, when it belongs to `owner` (if given).

    Raises errors.UnknownMessage, alike for a message that does not exist and for another account's, so a
    customer learns nothing of others' ids.
    """
    message = await replay.message(hub, message_id, owner)
    messages: store.Messages = hub.store
    events = (await messages.list_events(message.id))[:MAX_EVENTS]
    shown, signing_keys = await callbacks(hub, message)
    return MessageView(
        message=message,
        callback_url=mask_url(message.callback_url) if message.callback_url else None,
        events=events,
        callbacks=shown,
        signing_keys=signing_keys,
    )
