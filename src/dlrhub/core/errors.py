"""The exceptions dlrhub raises, all under one base.

DlrhubError
├── ConfigError            a setting is missing or malformed
├── NotAuthorized          missing or wrong credentials
├── Forbidden              the credentials do not allow this
├── NotFound               a referenced record does not exist
│   ├── UnknownAccount
│   ├── UnknownMessage
│   ├── UnknownJourney
│   ├── UnknownCallback
│   └── UnknownToken
├── Conflict               the request clashes with stored state
│   ├── DuplicateRequest   a RequestId seen within its window
│   ├── InsufficientBalance the account cannot pay for the message
│   └── Replayed           a signed request's signature was taken before
├── InvalidInput           a request is malformed (names the field)
├── DialectError           a front door refuses with a code from its own table
├── BlockedURL             the URL guard refused a callback destination
├── StoreUnavailable       the database does not answer (the doors answer "try again later")
└── Unstorable             the database refuses a value of a row (the row's fault, not an outage)

Zalo's failures are not exceptions: the Zalo client returns them as values (`wire.SendOutcome`, `wire.Answer`).
"""

from __future__ import annotations


class DlrhubError(Exception):
    """dlrhub failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(DlrhubError):
    """A setting is missing or malformed."""


class NotAuthorized(DlrhubError):
    """Missing or wrong credentials."""


class Forbidden(DlrhubError):
    """This token may not do that."""


class NotFound(DlrhubError):
    """The record does not exist."""


class UnknownAccount(NotFound):
    """No such account."""


class UnknownMessage(NotFound):
    """No such message."""


class UnknownJourney(NotFound):
    """No such journey."""


class UnknownCallback(NotFound):
    """No such callback."""


class UnknownToken(NotFound):
    """No such token."""


class Conflict(DlrhubError):
    """The request clashes with stored state."""


class DuplicateRequest(Conflict):
    """This RequestId was already used within its window."""

    def __init__(self, existing_message_id: str) -> None:
        super().__init__(f"duplicate request; original message {existing_message_id}")
        self.existing_message_id = existing_message_id


class InsufficientBalance(Conflict):
    """The account's balance is below the message's price."""


class Replayed(Conflict):
    """The send's request signature was taken before: a repeat of a signed request (NXCloud's 1003)."""


class InvalidInput(DlrhubError):
    """The request is malformed."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class DialectError(DlrhubError):
    """A front door refuses the request with a code from its dialect's table."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.text = message


class BlockedURL(DlrhubError):
    """The URL guard refused this callback destination."""


class StoreUnavailable(DlrhubError):
    """The database does not answer; try again later."""


class Unstorable(DlrhubError):
    """The database refuses a value of the rows written (too long, not in its encoding, out of range, against a
    constraint): the rows' fault, not an outage, and writing them again fails again. Nothing was written."""
