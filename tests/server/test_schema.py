"""schemathesis against the server's own OpenAPI document, over a real port.

Every operation gets generated valid and hostile inputs (bad types, oversized fields,
odd names and ids); no response may be a 5xx or break the document's schema, and every
4xx must say what is wrong. A few examples per operation keep it quick.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.server.conftest import ALICE, Served

AUTH = {"Authorization": f"Bearer {ALICE}"}
#: Examples per operation and mode: enough to hit each hostile shape, quick in the suite.
EXAMPLES = 8


@pytest.fixture(scope="module")
def api_schema(served: Served):
    words, served.paced.words = served.paced.words, 20  # off-topic answers stay short
    yield schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")
    served.paced.words = words


def check(case) -> None:
    # Left out: "valid data must be accepted" (a schema-valid request may still be refused
    # on meaning: an unknown model, a last message that is not the user's, tools; a clear
    # 400 is right) and "invalid data must be refused" (unknown query parameters and extra
    # fields, which platforms send, are ignored by design). Every other check runs.
    response = case.call_and_validate(
        headers=AUTH,
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.negative_data_rejection,
        ],
    )
    if 400 <= response.status_code < 500:
        body = response.json()
        assert body["error"]["message"].strip(), body
        assert "Traceback" not in response.text


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_every_operation_answers_within_its_schema(api_schema, mode):
    # schemathesis' own pytest plugin does not load under this pytest; its strategies do.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=mode)
        run = settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(case=strategy)(check))
        try:
            run()
        except Unsatisfiable:  # nothing to break: an operation without inputs
            assert mode is GenerationMode.NEGATIVE
            continue
        except Exception as exc:
            raise AssertionError(f"{operation.label} ({mode.value}): {exc}") from exc


def test_the_document_lists_both_apis(api_schema):
    paths = set(api_schema.raw_schema["paths"])
    assert {"/v1/chat/completions", "/v1/models", "/api/documents/{name}", "/healthz"} <= paths
