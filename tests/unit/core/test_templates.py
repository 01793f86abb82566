"""The template-data check: every refusal names the parameter; a template without parameters takes anything."""

from __future__ import annotations

import pytest

from dlrhub.core import errors, templates

P = templates.Param
TEMPLATE = templates.Template(
    oa_id="oa",
    template_id="100003",
    name="Payment reminder",
    status=templates.ENABLE,
    source=templates.Source.ZALO,
    params=(
        P("customer_name", templates.STRING, True, 30, 0),
        P("amount", templates.NUMBER, True, 20, 1),
        P("due_date", templates.DATE, True, 20, 10),
        P("note", templates.STRING, False, 5, None, accept_null=True),
    ),
)
CHECK = templates.compile_checker(TEMPLATE)
GOOD = {"customer_name": "An", "amount": "1.250.000", "due_date": "20/03/2026"}


def refusal(data, **kw) -> errors.InvalidInput:
    with pytest.raises(errors.InvalidInput) as caught:
        CHECK.check(data, "TempData", **kw)
    return caught.value


@pytest.mark.parametrize(
    "data",
    [
        GOOD,
        GOOD | {"amount": 1250000},
        GOOD | {"amount": -5, "note": ""},
        GOOD | {"note": None},
        GOOD | {"due_date": "08:30 20/03/2026"},
        GOOD | {"due_date": "20/03/2026 08:30:15"},
    ],
)
def test_data_that_fits_passes(data) -> None:
    CHECK.check(data, "TempData")


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ({k: v for k, v in GOOD.items() if k != "amount"}, "TempData.amount", "required parameter missing"),
        (GOOD | {"extra": "x"}, "TempData.extra", "not a parameter of the template"),
        (GOOD | {"customer_name": "x" * 31}, "TempData.customer_name", "longer than 30 characters"),
        (GOOD | {"due_date": "1/3/2026"}, "TempData.due_date", "shorter than 10 characters"),
        (GOOD | {"due_date": "2026-03-20"}, "TempData.due_date", "expected a date dd/MM/yyyy"),
        (GOOD | {"due_date": "31/02/2026"}, "TempData.due_date", "expected a date dd/MM/yyyy"),
        (GOOD | {"amount": "12a"}, "TempData.amount", "expected a number"),
        (GOOD | {"amount": True}, "TempData.amount", "expected text or a number"),
        (GOOD | {"customer_name": ["An"]}, "TempData.customer_name", "expected text or a number"),
        (GOOD | {"customer_name": ""}, "TempData.customer_name", "must not be empty"),
        (GOOD | {"note": "longer"}, "TempData.note", "longer than 5 characters"),
    ],
)
def test_each_refusal_names_the_parameter(data, field, problem) -> None:
    err = refusal(data)
    assert (err.field, err.problem) == (field, problem)


def test_positional_values_take_the_parameters_in_order() -> None:
    CHECK.check({"1": "An", "2": "5", "3": "20/03/2026"}, "Params", positional=True)
    assert CHECK.named({"1": "An", "2": "5"}) == {"customer_name": "An", "amount": "5"}
    assert refusal({"1": "An", "2": "5"}, positional=True).field == "TempData.due_date"
    err = refusal({str(i): "1" for i in range(1, 6)}, positional=True)
    assert (err.field, err.problem) == ("TempData", "5 values for 4 parameters")


def test_a_template_without_parameters_takes_anything_and_one_not_enabled_nothing() -> None:
    unknown = templates.compile_checker(
        templates.Template("oa", "1", "", templates.ENABLE, templates.Source.MANUAL, None)
    )
    unknown.check({"anything": ["goes"]}, "TempData")
    assert unknown.named({"1": "x"}) == {"1": "x"}
    templates.NO_CHECK.check({"k": {}}, "TempData")
    disabled = templates.compile_checker(
        templates.Template("oa", "7", "", templates.DISABLE, templates.Source.ZALO, ())
    )
    with pytest.raises(errors.InvalidInput, match="template 7 is not enabled"):
        disabled.check({}, "TempData")


@pytest.mark.parametrize(
    "raw",
    [
        [{"name": "a"}, {"name": "a"}],
        [{"name": "bad name"}],
        [{"name": "a", "require": "yes"}],
        [{"name": "a", "maxLength": -1}],
        [{"name": "a", "type": 5}],
        {"name": "a"},
        [{"name": str(i)} for i in range(101)],
    ],
)
def test_malformed_params_are_refused(raw) -> None:
    with pytest.raises(errors.InvalidInput):
        templates.params_from_json(raw)


def test_params_round_trip_in_zalos_spelling() -> None:
    raw = [p.to_json() for p in TEMPLATE.params or ()]
    assert raw[1] == {
        "name": "amount",
        "type": "NUMBER",
        "require": True,
        "maxLength": 20,
        "minLength": 1,
        "acceptNull": False,
    }
    assert templates.params_from_json(raw) == TEMPLATE.params
