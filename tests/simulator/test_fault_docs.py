"""The fault tables in docs/testing.md and the simulator's parsers agree.

Every spec a table lists parses (placeholders filled with sample values), every kind the
parsers know has a row, and every status the simulator fakes is listed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from alltoken_agent.simulator.faults import STATUS_FAULTS, FaultKind, parse_fault
from alltoken_agent.simulator.job_faults import JobFaultKind, parse_job_fault

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"

SAMPLES = {
    "N": "2",
    "S": "0.05",
    "MB": "1",
    "VALUE": "-1",
    "FIELD=VALUE": "prompt_tokens=-5",
    "URL": "http://elsewhere.invalid/x",
    "CODE": "upstream_content_violation",
}
"""Sample values for the placeholders the tables use."""


def table_specs(header: str) -> list[str]:
    """The backticked specs of the first column of the table whose header row starts so."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    specs: list[str] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first = line.split("|")[1]
        specs += re.findall(r"`([^`]+)`", first)
    return specs


def filled(spec: str) -> str:
    head, _, rest = spec.partition(":")
    if not rest:
        return head
    args = [rest] if rest in SAMPLES else rest.split(":")
    return ":".join([head, *(SAMPLES.get(arg, arg) for arg in args)])


FAULT_SPECS = table_specs("Fault")
JOB_SPECS = table_specs("Job fault")


def test_the_tables_were_found() -> None:
    assert len(FAULT_SPECS) > 20
    assert len(JOB_SPECS) >= 7


@pytest.mark.parametrize("spec", FAULT_SPECS)
def test_every_documented_fault_parses(spec: str) -> None:
    fault = parse_fault(filled(spec))
    assert fault.spec.split(":")[0] == spec.split(":")[0].lower()


@pytest.mark.parametrize("spec", JOB_SPECS)
def test_every_documented_job_fault_parses(spec: str) -> None:
    assert parse_job_fault(filled(spec)).kind == spec.split(":")[0]


def test_every_fault_kind_the_parser_knows_is_documented() -> None:
    documented = {parse_fault(filled(spec)).kind for spec in FAULT_SPECS}
    assert documented == set(get_args(FaultKind))
    statuses = {parse_fault(spec).status for spec in FAULT_SPECS if spec.isdigit()}
    assert statuses == set(STATUS_FAULTS)
    with_retry_after = {
        parse_fault(filled(spec)).status for spec in FAULT_SPECS if re.fullmatch(r"[0-9]+:N", spec)
    }
    assert with_retry_after == {429} | {status for status in STATUS_FAULTS if status >= 500}


def test_every_job_fault_kind_is_documented() -> None:
    documented = {parse_job_fault(filled(spec)).kind for spec in JOB_SPECS}
    assert documented == set(get_args(JobFaultKind))


def test_every_form_the_parsers_name_in_their_errors_is_documented() -> None:
    """The forms `parse_fault` lists in its error (what a user sees) are rows too."""
    with pytest.raises(ValueError, match="known: ") as caught:
        parse_fault("?")
    listed = str(caught.value).split("known: ", 1)[1]
    forms = {re.sub(r"\[.*\]", "", form.strip()).split(":")[0] for form in listed.split(",")}
    assert forms <= {spec.split(":")[0] for spec in FAULT_SPECS}
    with pytest.raises(ValueError, match="known: ") as caught:
        parse_job_fault("?")
    listed = re.sub(r"\([^)]*\)", "", str(caught.value).split("known: ", 1)[1])
    forms = {form.strip().split(":")[0] for form in listed.split(",")}
    assert forms <= {spec.split(":")[0] for spec in JOB_SPECS}
