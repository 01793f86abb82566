"""Token format and digest, and which token kinds each scope lets in."""

from __future__ import annotations

import hashlib
import re

from dlrhub.core import control, scopes

K = control.TokenKind
S = scopes.Scope


def test_a_token_names_its_kind_and_holds_32_random_bytes() -> None:
    made = {kind: scopes.mint(kind) for kind in K}
    assert {kind: token[:7] for kind, token in made.items()} == {
        K.ADMIN: "dlrh_a_",
        K.READ: "dlrh_r_",
        K.CUSTOMER: "dlrh_c_",
    }
    for token in made.values():
        assert re.fullmatch(r"dlrh_[arc]_[A-Za-z0-9_-]{43}", token)
    assert scopes.mint(K.ADMIN) != scopes.mint(K.ADMIN)


def test_only_the_digest_and_a_short_prefix_are_kept() -> None:
    token = scopes.mint(K.READ)
    assert scopes.digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert scopes.shown(token) == token[:11]
    assert len(token) - len(scopes.shown(token)) == 39  # 234 random bits stay unseen


def test_scopes_let_in_the_kinds_the_table_says() -> None:
    allowed = {
        (kind, scope)
        for kind in K
        for scope in S
        if scopes.Principal("x", kind, "acc" if kind is K.CUSTOMER else None).allows(scope)
    }
    assert allowed == {
        (K.ADMIN, S.ADMIN),
        (K.ADMIN, S.READ),
        (K.ADMIN, S.PULL),
        (K.ADMIN, S.REPLAY),
        (K.READ, S.READ),
        (K.READ, S.PULL),
        (K.CUSTOMER, S.PULL),
        (K.CUSTOMER, S.REPLAY),
    }


def test_a_customer_sees_only_its_account() -> None:
    customer = scopes.Principal("shop", K.CUSTOMER, "acc_1")
    assert customer.sees("acc_1")
    assert not customer.sees("acc_2")
    assert scopes.BOOTSTRAP.sees("acc_2")
    assert scopes.BOOTSTRAP.actor == "bootstrap"
